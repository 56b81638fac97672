using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GanBertBots.Training.Rounds;

/// <summary>
/// One round in a run of several (<c>retrain --here --rounds N</c>): the figures that show whether the two models are
/// getting better at their game. Detector figures are on the held-out labelled texts; generator figures are the
/// candidate generator's against the round's new detector. Null where the round produced no such number (a failed round,
/// or a detector trainer that reports no human recall).
/// </summary>
public sealed record RoundSummary
{
    /// <summary>1, 2, ... within the run.</summary>
    public required int Round { get; init; }
    public required string RoundId { get; init; }
    public required RoundOutcome Outcome { get; init; }
    public required string Reason { get; init; }
    /// <summary>The versions the round started from (what the previous round promoted).</summary>
    public string? LiveDetectorVersion { get; init; }
    public string? LiveGeneratorVersion { get; init; }
    public string? CandidateDetectorVersion { get; init; }
    public string? CandidateGeneratorVersion { get; init; }

    public double? DetectorAccuracyLive { get; init; }
    public double? DetectorAccuracyCandidate { get; init; }
    public double? MacroF1Live { get; init; }
    public double? MacroF1Candidate { get; init; }
    /// <summary>The candidate detector's recall of the human class on held-out texts (<c>recall_human</c>).</summary>
    public double? HumanRecallCandidate { get; init; }
    /// <summary>Share of the candidate generator's tweets the new detector calls human.</summary>
    public double? FoolRate { get; init; }
    /// <summary>The new detector's accuracy on the candidate generator's tweets: 1 - fool rate.</summary>
    public double? GeneratedAccuracy => FoolRate is { } f ? 1 - f : null;
    /// <summary>Real-vs-generated accuracy with both sides weighted equally: mean of human recall and accuracy on generated.</summary>
    public double? BalancedAccuracy => HumanRecallCandidate is { } r && GeneratedAccuracy is { } g ? (r + g) / 2 : null;
    public double? PerplexityLive { get; init; }
    public double? PerplexityCandidate { get; init; }
    public required double Seconds { get; init; }

    /// <summary>The key of the human recall in <see cref="DetectorScore.Extra"/>.</summary>
    public const string HumanRecallKey = "recall_human";

    public static RoundSummary From(int round, RoundReport report, TimeSpan took)
    {
        var m = report.Metrics;
        return new RoundSummary
        {
            Round = round, RoundId = report.RoundId, Outcome = report.Outcome, Reason = report.Reason,
            LiveDetectorVersion = report.LiveDetectorVersion, LiveGeneratorVersion = report.LiveGeneratorVersion,
            CandidateDetectorVersion = report.CandidateDetectorVersion, CandidateGeneratorVersion = report.CandidateGeneratorVersion,
            DetectorAccuracyLive = m?.LiveDetector.Accuracy, DetectorAccuracyCandidate = m?.CandidateDetector.Accuracy,
            MacroF1Live = m?.LiveDetector.MacroF1, MacroF1Candidate = m?.CandidateDetector.MacroF1,
            HumanRecallCandidate = m is not null && m.CandidateDetector.Extra.TryGetValue(HumanRecallKey, out double recall) ? recall : null,
            FoolRate = m?.CandidateGenerator.FoolRate,
            PerplexityLive = m?.LiveGenerator.Perplexity, PerplexityCandidate = m?.CandidateGenerator.Perplexity,
            Seconds = took.TotalSeconds,
        };
    }

    /// <summary>The Markdown table's header (two lines).</summary>
    public static string MarkdownHeader =>
        "| round | outcome | detector accuracy live / cand. | macro-F1 live / cand. | human recall (cand.) | fool rate (cand. gen.) "
        + "| accuracy on generated | balanced real-vs-generated accuracy | perplexity live / cand. | seconds |\n"
        + "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// <summary>This round as one row of the Markdown table.</summary>
    public string MarkdownRow()
    {
        string outcome = Outcome switch
        {
            RoundOutcome.Promoted => $"promoted {CandidateDetectorVersion}/{CandidateGeneratorVersion}",
            RoundOutcome.Rejected => $"rejected {CandidateDetectorVersion}/{CandidateGeneratorVersion}",
            _ => Outcome.ToString().ToLowerInvariant() + ": " + Reason.Replace("|", "\\|"),
        };
        return string.Join(" | ", [
            $"| {Round}", outcome,
            Pair(DetectorAccuracyLive, DetectorAccuracyCandidate, "0.000"), Pair(MacroF1Live, MacroF1Candidate, "0.000"),
            Number(HumanRecallCandidate, "0.000"), Number(FoolRate, "0.000"), Number(GeneratedAccuracy, "0.000"),
            Number(BalancedAccuracy, "0.000"), Pair(PerplexityLive, PerplexityCandidate, "0.00"),
            Number(Seconds, "0.0") + " |",
        ]);
    }

    /// <summary>The whole run as a Markdown table.</summary>
    public static string ToMarkdown(IEnumerable<RoundSummary> rounds)
    {
        var md = new StringBuilder().AppendLine(MarkdownHeader);
        foreach (var round in rounds) md.AppendLine(round.MarkdownRow());
        return md.ToString();
    }

    /// <summary>The whole run as JSON (snake_case keys, derived figures included, null where there is no number).</summary>
    public static string ToJson(IEnumerable<RoundSummary> rounds) => JsonSerializer.Serialize(rounds.ToList(), new JsonSerializerOptions
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    });

    /// <summary>Writes <c>rounds.md</c> and <c>rounds.json</c> into <paramref name="directory"/>, each complete or not at all.</summary>
    public static void Write(string directory, IReadOnlyList<RoundSummary> rounds)
    {
        Directory.CreateDirectory(directory);
        WriteWhole(Path.Combine(directory, "rounds.md"), "# Adversarial rounds\n\n" + ToMarkdown(rounds));
        WriteWhole(Path.Combine(directory, "rounds.json"), ToJson(rounds));
    }

    static void WriteWhole(string path, string content)
    {
        File.WriteAllText(path + ".partial", content);
        File.Move(path + ".partial", path, overwrite: true);
    }

    static string Number(double? value, string format) =>
        value is { } v ? double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture) : "-";

    static string Pair(double? live, double? candidate, string format) => $"{Number(live, format)} / {Number(candidate, format)}";
}
