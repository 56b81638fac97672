using System.Globalization;
using System.Text;

namespace GanBertBots.Conversation;

/// <summary>
/// A detector's verdict as chat text: what the evidence supports in words, the most likely writer, a bar per class, and
/// the detector's track record (its held-out figures, or that it was never measured).
/// </summary>
public static class VerdictText
{
    public static string Percent(double p) => (p * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>A bar of <paramref name="width"/> cells, filled in proportion to <paramref name="p"/>.</summary>
    public static string Bar(double p, int width = 10)
    {
        int filled = (int)Math.Round(Math.Clamp(p, 0, 1) * width, MidpointRounding.AwayFromZero);
        return new string('█', filled) + new string('░', width - filled);
    }

    /// <summary>The judgement in a few words ("likely written by a person", ...); empty for <see cref="VerdictJudgement.None"/>.</summary>
    public static string Words(VerdictJudgement judgement) => judgement switch
    {
        VerdictJudgement.LikelyPerson => "likely written by a person",
        VerdictJudgement.LikelyMachine => "likely machine-written",
        VerdictJudgement.CantTell => "can't tell",
        VerdictJudgement.TooShort => "too short to judge reliably",
        VerdictJudgement.NoEvidence => "no evidence either way",
        VerdictJudgement.FailedGate => "no verdict from a detector that failed its evaluation",
        _ => "",
    };

    /// <summary>
    /// Whether the judgement claims who wrote the text (so "Was I right?" makes sense); can't tell, too short, no evidence
    /// and a detector that failed its gate show scores without a claim. An unworded answer (None: no human class, or
    /// judged by an older caller) names its most likely writer, which is the claim.
    /// </summary>
    public static bool Claims(VerdictJudgement judgement) =>
        judgement is VerdictJudgement.LikelyPerson or VerdictJudgement.LikelyMachine or VerdictJudgement.None;

    /// <summary>Where P(person) came from: "calibrated", "calibrated, with the zero-shot score" or "raw detector score".</summary>
    static string Basis(Verdict v) => v.Fused ? "calibrated, with GPT-2's zero-shot score" : v.Calibrated ? "calibrated" : "raw detector score";

    /// <param name="humanClass">The class that means "a person wrote it" (<c>Labels:Human</c>).</param>
    public static string Format(Verdict v, string humanClass)
    {
        var sb = new StringBuilder();
        double top = v.Probabilities.Count > 0 ? v.Probabilities[0].Probability : 0;
        string who = v.Label == humanClass ? "a person" : $"a machine ({v.Label})";
        double person = double.IsNaN(v.CalibratedRealProbability) ? v.RealProbability : v.CalibratedRealProbability;
        // A judgement that is not worded as a verdict still shows P(person), on its own line.
        void ScoresAnyway() => sb.Append("Its scores anyway: person ").Append(Percent(person)).Append(" (").Append(Basis(v)).AppendLine(")");
        switch (v.Judgement)
        {
            case VerdictJudgement.TooShort:
                sb.Append("Verdict: too short to judge reliably (").Append(v.TokenCount).Append(" tokens; this detector needs at least ")
                  .Append(v.MinimumTokens).AppendLine(").");
                ScoresAnyway();
                break;
            case VerdictJudgement.NoEvidence:
                sb.AppendLine("Verdict: no evidence either way - this detector scores every class about evenly on this text.");
                ScoresAnyway();
                break;
            case VerdictJudgement.FailedGate:
                sb.AppendLine("Verdict: none - this detector did no better than always answering one class on texts it never trained on (/stats has its figures).");
                ScoresAnyway();
                break;
            case VerdictJudgement.None when double.IsNaN(person): // a detector without a human class cannot say real or fake
                break;
            case VerdictJudgement.None:
                sb.Append("Verdict: person ").Append(Percent(person)).Append(" (").Append(Basis(v)).AppendLine(")");
                break;
            default:
                sb.Append("Verdict: ").Append(Words(v.Judgement)).Append(" - person ").Append(Percent(person))
                  .Append(" (").Append(Basis(v)).AppendLine(")");
                break;
        }
        sb.Append("Most likely writer: ").Append(who).Append(" - ").AppendLine(Percent(top));
        int labelWidth = v.Probabilities.Count == 0 ? 0 : v.Probabilities.Max(p => p.Label.Length);
        foreach (var p in v.Probabilities)
            sb.Append(p.Label.PadRight(labelWidth)).Append(' ').Append(Bar(p.Probability)).Append(' ')
              .AppendLine(Percent(p.Probability).PadLeft(4));
        if (v.Truncated) sb.AppendLine("(The text was longer than the model reads; only its start was judged.)");
        // How far to trust any of it: the detector's figures on texts it never trained on, or that nobody measured them.
        sb.Append("Track record: ").AppendLine(v.DetectorHeldOutFigures ?? "never measured on texts it did not train on");
        sb.Append("Model: ").Append(v.ModelVersion);
        return sb.ToString();
    }
}
