using System.Globalization;
using System.Text;

namespace GanBertBots.Conversation;

/// <summary>A detector's verdict as chat text: the most likely writer, real or fake, and a bar per class.</summary>
public static class VerdictText
{
    public static string Percent(double p) => (p * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>A bar of <paramref name="width"/> cells, filled in proportion to <paramref name="p"/>.</summary>
    public static string Bar(double p, int width = 10)
    {
        int filled = (int)Math.Round(Math.Clamp(p, 0, 1) * width, MidpointRounding.AwayFromZero);
        return new string('█', filled) + new string('░', width - filled);
    }

    /// <param name="humanClass">The class that means "a person wrote it" (<c>Labels:Human</c>).</param>
    public static string Format(Verdict v, string humanClass)
    {
        var sb = new StringBuilder();
        double top = v.Probabilities.Count > 0 ? v.Probabilities[0].Probability : 0;
        string who = v.Label == humanClass ? "a person" : $"a machine ({v.Label})";
        sb.Append("Verdict: written by ").Append(who).Append(" - ").Append(Percent(top)).AppendLine(" sure");
        if (!double.IsNaN(v.RealProbability)) // NaN: a detector without a human class cannot say
            sb.Append(v.IsReal ? "Real or fake: REAL" : "Real or fake: FAKE")
              .Append(" (person ").Append(Percent(v.RealProbability)).AppendLine(")");
        int labelWidth = v.Probabilities.Count == 0 ? 0 : v.Probabilities.Max(p => p.Label.Length);
        foreach (var p in v.Probabilities)
            sb.Append(p.Label.PadRight(labelWidth)).Append(' ').Append(Bar(p.Probability)).Append(' ')
              .AppendLine(Percent(p.Probability).PadLeft(4));
        if (v.Truncated) sb.AppendLine("(The text was longer than the model reads; only its start was judged.)");
        sb.Append("Model: ").Append(v.ModelVersion);
        return sb.ToString();
    }
}
