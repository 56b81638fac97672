using System.Globalization;
using System.Text;

namespace GanBertBots.Training.Rounds;

/// <summary>How a round ended.</summary>
public enum RoundOutcome
{
    /// <summary>The gate passed and both candidates are live.</summary>
    Promoted,
    /// <summary>The candidates were registered but the gate refused them; the live models stay.</summary>
    Rejected,
    /// <summary>A step threw; the candidate was discarded and the live models stay.</summary>
    Failed,
    /// <summary>Shutdown or a caller cancelled; the candidate was discarded and the live models stay.</summary>
    Cancelled,
}

/// <summary>Numbers of the live models and the candidates, measured in step 4.</summary>
public sealed record RoundMetrics(
    DetectorScore LiveDetector, DetectorScore CandidateDetector,
    GeneratorScore LiveGenerator, GeneratorScore CandidateGenerator, int Samples);

/// <summary>What the gate decided and why.</summary>
public sealed record GateDecision(bool Passed, IReadOnlyList<string> Reasons)
{
    public string Summary => Passed ? "gate passed" : "gate refused: " + string.Join("; ", Reasons);
}

/// <summary>One round, as told to the moderators and kept with the versions.</summary>
public sealed record RoundReport
{
    public required string RoundId { get; init; }
    public required string RequestedBy { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset FinishedAt { get; init; }
    public required RoundOutcome Outcome { get; init; }
    /// <summary>One sentence: why the outcome is what it is.</summary>
    public required string Reason { get; init; }
    public string? LiveGeneratorVersion { get; init; }
    public string? LiveDetectorVersion { get; init; }
    public string? CandidateGeneratorVersion { get; init; }
    public string? CandidateDetectorVersion { get; init; }
    public RoundMetrics? Metrics { get; init; }
    public GateDecision? Gate { get; init; }
    /// <summary>Plots (PNG) of this round, in the registered versions' report folders.</summary>
    public IReadOnlyList<string> Plots { get; init; } = [];
    /// <summary>Where report.md lives (the candidate generator's report folder), when the candidates were registered.</summary>
    public string? ReportDirectory { get; init; }

    public TimeSpan Duration => FinishedAt - StartedAt;

    /// <summary>The report as Markdown: outcome, then a metrics table live vs candidate.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine($"## Retraining round {RoundId}");
        md.AppendLine();
        md.AppendLine($"**{Outcome}**: {Reason}");
        md.AppendLine();
        md.AppendLine($"Requested by {RequestedBy}; started {StartedAt:yyyy-MM-dd HH:mm:ss}Z, took {Duration.TotalMinutes:0.0} min.");
        if (Metrics is { } m)
        {
            md.AppendLine();
            md.AppendLine($"| metric | live ({LiveDetectorVersion ?? "-"} / {LiveGeneratorVersion ?? "-"}) | candidate ({CandidateDetectorVersion ?? "-"} / {CandidateGeneratorVersion ?? "-"}) |");
            md.AppendLine("|---|---:|---:|");
            Row(md, "detector macro-F1 (held-out)", m.LiveDetector.MacroF1, m.CandidateDetector.MacroF1, "0.000");
            Row(md, "detector accuracy (held-out)", m.LiveDetector.Accuracy, m.CandidateDetector.Accuracy, "0.000");
            if (double.IsFinite(m.CandidateDetector.BaselineMacroF1))
                Row(md, "majority-class baseline macro-F1 (held-out)", m.LiveDetector.BaselineMacroF1, m.CandidateDetector.BaselineMacroF1, "0.000");
            if (double.IsFinite(m.CandidateDetector.Ece) || double.IsFinite(m.LiveDetector.Ece))
            {
                Row(md, "detector ECE of P(person), 15 bins (held-out)", m.LiveDetector.Ece, m.CandidateDetector.Ece, "0.000");
                Row(md, "detector Brier of P(person) (held-out)", m.LiveDetector.Brier, m.CandidateDetector.Brier, "0.000");
            }
            Row(md, "generator perplexity (held-out)", m.LiveGenerator.Perplexity, m.CandidateGenerator.Perplexity, "0.00");
            Row(md, "fool rate vs new detector", m.LiveGenerator.FoolRate, m.CandidateGenerator.FoolRate, "0.0%");
            md.AppendLine($"| generator samples in detector training | | {m.Samples} |");
        }
        if (Gate is { } g)
        {
            md.AppendLine();
            md.AppendLine(g.Passed ? "Gate: passed." : "Gate: refused.");
            foreach (string reason in g.Reasons) md.AppendLine($"- {reason}");
        }
        if (Plots.Count > 0)
        {
            md.AppendLine();
            foreach (string plot in Plots) md.AppendLine($"![{Path.GetFileNameWithoutExtension(plot)}]({Path.GetFileName(plot)})");
        }
        return md.ToString();
    }

    /// <summary>
    /// The report as plain text for the moderators' chats: outcome and reason, live vs candidate versions and metrics,
    /// the gate's reasons, where the full report is. Plain text renders the same on every platform (no tables).
    /// </summary>
    public string ToChatText()
    {
        var text = new StringBuilder();
        text.AppendLine($"Retraining round {RoundId}: {Outcome}. {Reason}");
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Requested by {RequestedBy}; took {Duration.TotalMinutes:0.0} min."));
        if (Metrics is { } m)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Detector {LiveDetectorVersion ?? "-"} -> {CandidateDetectorVersion ?? "candidate"}: macro-F1 {m.LiveDetector.MacroF1:0.000} -> {m.CandidateDetector.MacroF1:0.000}, accuracy {m.LiveDetector.Accuracy:0.000} -> {m.CandidateDetector.Accuracy:0.000} (held-out)"));
            if (double.IsFinite(m.CandidateDetector.Ece) || double.IsFinite(m.LiveDetector.Ece))
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"Detector calibration of P(person): ECE {m.LiveDetector.Ece:0.000} -> {m.CandidateDetector.Ece:0.000}, Brier {m.LiveDetector.Brier:0.000} -> {m.CandidateDetector.Brier:0.000} (held-out)"));
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Generator {LiveGeneratorVersion ?? "-"} -> {CandidateGeneratorVersion ?? "candidate"}: perplexity {m.LiveGenerator.Perplexity:0.00} -> {m.CandidateGenerator.Perplexity:0.00} (held-out), fool rate vs new detector {m.LiveGenerator.FoolRate:0.0%} -> {m.CandidateGenerator.FoolRate:0.0%}"));
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Generator samples in detector training: {m.Samples}"));
        }
        if (Gate is { } g)
        {
            text.AppendLine(g.Passed ? "Gate passed:" : "Gate refused:");
            foreach (string reason in g.Reasons) text.AppendLine($"- {reason}");
        }
        if (ReportDirectory is not null) text.AppendLine($"Full report: {Path.Combine(ReportDirectory, "report.md")}");
        return text.ToString().TrimEnd();
    }

    static void Row(StringBuilder md, string name, double live, double candidate, string format) =>
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {live.ToString(format, CultureInfo.InvariantCulture)} | {candidate.ToString(format, CultureInfo.InvariantCulture)} |"));
}
