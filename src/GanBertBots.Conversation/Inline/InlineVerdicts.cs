namespace GanBertBots.Conversation;

/// <summary>What an inline query ("@ourbot some text" in any chat) is answered with: a title for the result list and the message it posts.</summary>
public sealed record InlineAnswer(string Title, string Description, string MessageText);

/// <summary>
/// Inline mode: the verdict on the typed text, offered as one result the person may post. Nothing is stored: the text is
/// a draft in someone's input field, it may never be sent, and Telegram does not tell the bot whether the result was
/// chosen unless inline feedback is switched on with BotFather. Rate-limited like commands.
/// </summary>
public sealed class InlineVerdicts(IInferenceService inference, ChatRateLimit rate, BotOptions options, Labels labels, ModeratorPolicy moderators)
{
    /// <summary>Shorter texts get a hint instead of a verdict (a query is sent on every keystroke).</summary>
    public const int MinChars = 20;

    public async Task<InlineAnswer> AnswerAsync(ChatUser user, string query, CancellationToken ct)
    {
        query = query.Trim();
        if (query.Length < MinChars)
            return new("Type or paste the text to check", $"At least {MinChars} characters", "Type @ and my name, then the text, to ask who wrote it.");
        if (!moderators.IsModerator(user, new ChatPlace(user.Platform, user.UserId, ChatKind.Private), false, []) && !rate.TryTake(user.QualifiedId, out var wait))
            return new("Too fast", $"Please wait {Math.Ceiling(wait.TotalSeconds):0} s", $"Too many questions at once; please wait {Math.Ceiling(wait.TotalSeconds):0} s.");
        string text = ChatText.CutInput(query, options.MaxInputChars, out _);
        var verdict = await inference.DetectAsync(text, ct);
        if (!verdict.IsCompleted) return new("No verdict right now", verdict.Message, verdict.Message);
        string who = verdict.Label == labels.Human ? "a person" : $"a machine ({verdict.Label})";
        string title = double.IsNaN(verdict.CalibratedRealProbability) || verdict.Judgement == VerdictJudgement.None
            ? $"Written by {who}"
            : $"{VerdictText.Words(verdict.Judgement)}: person {VerdictText.Percent(verdict.CalibratedRealProbability)}";
        title = char.ToUpperInvariant(title[0]) + title[1..];
        return new(title, $"Most likely {who}", $"Who wrote \"{ChatText.Clip(text.ReplaceLineEndings(" "), 200)}\"?\n\n" + VerdictText.Format(verdict, labels.Human));
    }
}
