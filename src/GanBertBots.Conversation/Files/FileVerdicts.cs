using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GanBertBots.Conversation;

/// <summary>
/// A .txt or .md file sent to be judged: split into paragraphs, a verdict per paragraph (each stored like a /detect
/// text), an overall real-or-fake from the paragraphs' P(person) weighted by length, and the most machine-like ones.
/// Other types, files over <see cref="MaxBytes"/> and text that is not UTF-8 get a plain answer.
/// </summary>
public sealed partial class FileVerdicts(SubmittedTexts submitted, BotOptions options)
{
    public const long MaxBytes = 1 << 20;
    public const int MaxParagraphs = 30;
    /// <summary>Shorter paragraphs (headings, signatures) are not judged.</summary>
    public const int MinParagraphChars = 20;

    public async Task JudgeAsync(CommandContext context, IncomingFile file, CancellationToken ct)
    {
        string extension = Path.GetExtension(file.FileName).ToLowerInvariant();
        string? mime = file.MimeType?.Split(';')[0].Trim().ToLowerInvariant();
        if (extension is not (".txt" or ".md") && mime is not ("text/plain" or "text/markdown"))
        {
            await context.ReplyAsync($"I read .txt and .md files only; {ChatText.Clip(file.FileName, 60)} is neither.", ct);
            return;
        }
        if (file.Size > MaxBytes)
        {
            await context.ReplyAsync($"That file has {file.Size / 1024} KB; I read files up to {MaxBytes / 1024 / 1024} MB.", ct);
            return;
        }
        await context.Output.ShowTypingAsync(ct);
        byte[] bytes = await file.ReadAsync(ct);
        if (bytes.Length > MaxBytes)
        {
            await context.ReplyAsync($"That file has {bytes.Length / 1024} KB; I read files up to {MaxBytes / 1024 / 1024} MB.", ct);
            return;
        }
        string text;
        try { text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes).TrimStart('\uFEFF'); }
        catch (DecoderFallbackException)
        {
            await context.ReplyAsync("That file is not UTF-8 text.", ct);
            return;
        }
        // NUL and other control characters (tabs and line ends aside) are valid UTF-8 but mean a binary file named .txt.
        if (text.Count(ch => char.IsControl(ch) && ch is not ('\n' or '\r' or '\t')) > text.Length / 100)
        {
            await context.ReplyAsync("That file does not look like text.", ct);
            return;
        }
        var all = BlankLines().Split(text).Select(p => p.Trim()).Where(p => p.Length >= MinParagraphChars).ToList();
        if (all.Count == 0)
        {
            await context.ReplyAsync($"That file has no paragraph of at least {MinParagraphChars} characters to judge.", ct);
            return;
        }
        var paragraphs = all.Take(MaxParagraphs).Select(p => ChatText.CutInput(p, options.MaxInputChars, out _)).ToList();
        var verdicts = (await Task.WhenAll(paragraphs.Select(p => submitted.KeepAndJudgeAsync(p, context, ct)))).Select(r => r.Verdict).ToList();
        if (verdicts.FirstOrDefault(v => !v.IsCompleted) is { } failed)
        {
            await context.ReplyAsync(failed.Message, ct);
            return;
        }
        await context.ReplyAsync(Summary(file.FileName, paragraphs, verdicts, all.Count), ct);
    }

    static string Summary(string fileName, IReadOnlyList<string> paragraphs, IReadOnlyList<Verdict> verdicts, int found)
    {
        var sb = new StringBuilder();
        sb.Append("📄 ").Append(ChatText.Clip(fileName, 60)).Append(": ").Append(paragraphs.Count).Append(paragraphs.Count == 1 ? " paragraph" : " paragraphs").Append(" judged");
        sb.AppendLine(found > paragraphs.Count ? $" (the first {paragraphs.Count} of {found})." : ".");
        bool canTell = verdicts.All(v => !double.IsNaN(v.RealProbability));
        if (canTell)
        {
            // The file's P(person): the paragraphs' P(person), each weighted by its length.
            double person = paragraphs.Select((p, i) => p.Length * verdicts[i].RealProbability).Sum() / paragraphs.Sum(p => p.Length);
            sb.Append("Overall - real or fake: ").Append(person >= 0.5 ? "REAL" : "FAKE").Append(" (person ").Append(VerdictText.Percent(person)).AppendLine(")");
        }
        sb.AppendLine("Most machine-like:");
        var order = Enumerable.Range(0, paragraphs.Count)
            .OrderBy(i => canTell ? verdicts[i].RealProbability : -(verdicts[i].Probabilities.FirstOrDefault().Probability)).Take(3);
        foreach (int i in order)
        {
            sb.Append(i + 1).Append(". ");
            if (canTell) sb.Append("person ").Append(VerdictText.Percent(verdicts[i].RealProbability)).Append(", ");
            sb.Append("most likely ").Append(verdicts[i].Label).Append(": \"").Append(ChatText.Clip(paragraphs[i].ReplaceLineEndings(" "), 100)).AppendLine("\"");
        }
        sb.Append("Model: ").Append(verdicts[0].ModelVersion);
        return sb.ToString();
    }

    [GeneratedRegex(@"\r?\n[ \t]*\r?\n")]
    private static partial Regex BlankLines();
}
