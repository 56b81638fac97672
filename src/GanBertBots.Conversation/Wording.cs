using System.Globalization;
using System.Text;
using GanBertBots.Inference;

namespace GanBertBots.Conversation;

/// <summary>How the bot says things: help texts, verdicts as text bar charts, clipping.</summary>
public static class Wording
{
    public const string PublicHelp =
        "/tweet [keyword or prompt] - I write a disaster-style tweet\n" +
        "/detect TEXT - who wrote it: a person or which AI? (or reply /detect to a message)\n" +
        "/game - real or fake? guess and keep score\n" +
        "/stats - labels collected, model versions\n" +
        "/help - this list";

    public const string ModeratorHelp =
        "Moderators:\n" +
        "/review - label the next unlabelled text\n" +
        "/mods - who moderates\n" +
        "/retrain, /promote [version], /rollback - model operations";

    public static string Help(bool moderator) => moderator ? PublicHelp + "\n\n" + ModeratorHelp : PublicHelp;

    public static string Percent(double p) => (p * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>A bar of <paramref name="width"/> cells, filled in proportion to <paramref name="p"/>.</summary>
    public static string Bar(double p, int width = 10)
    {
        int filled = (int)Math.Round(Math.Clamp(p, 0, 1) * width, MidpointRounding.AwayFromZero);
        return new string('█', filled) + new string('░', width - filled);
    }

    public static string Verdict(Verdict v)
    {
        var sb = new StringBuilder();
        double top = v.Probabilities.Count > 0 ? v.Probabilities[0].Probability : 0;
        string who = v.Label == "human" ? "a person" : $"a machine ({v.Label})";
        sb.Append("Verdict: written by ").Append(who).Append(" - ").Append(Percent(top)).AppendLine(" sure");
        if (!double.IsNaN(v.RealProbability)) // NaN: a detector without a "human" class cannot say
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

    /// <summary>Cuts <paramref name="text"/> to <paramref name="max"/> characters without splitting a surrogate pair.</summary>
    public static string Clip(string text, int max)
    {
        if (text.Length <= max) return text;
        int cut = Math.Max(0, max - 1);
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--;
        return text[..cut] + "…";
    }

    /// <summary>
    /// Splits <paramref name="text"/> into messages of at most <paramref name="max"/> characters, nothing dropped: the
    /// parts concatenated are the text again. A part ends after the last line break in its second half when there is
    /// one, else after the last space there, else at the limit (never inside a surrogate pair).
    /// </summary>
    public static IReadOnlyList<string> Split(string text, int max)
    {
        if (max < 2) throw new ArgumentOutOfRangeException(nameof(max), max, "a message must hold at least 2 characters");
        var parts = new List<string>();
        int start = 0;
        while (text.Length - start > max)
        {
            int end = start + max; // exclusive
            int half = start + max / 2;
            int newline = text.LastIndexOf('\n', end - 1, end - half);
            int space = text.LastIndexOf(' ', end - 1, end - half);
            if (newline >= 0) end = newline + 1;
            else if (space >= 0) end = space + 1;
            else if (char.IsHighSurrogate(text[end - 1])) end--;
            parts.Add(text[start..end]);
            start = end;
        }
        if (start < text.Length) parts.Add(text[start..]);
        return parts;
    }

    /// <summary>Cuts to <paramref name="max"/> characters (whole surrogate pairs), returning whether it did.</summary>
    public static string CutInput(string text, int max, out bool cut)
    {
        cut = text.Length > max;
        if (!cut) return text;
        int end = max;
        if (char.IsHighSurrogate(text[end - 1])) end--;
        return text[..end];
    }
}
