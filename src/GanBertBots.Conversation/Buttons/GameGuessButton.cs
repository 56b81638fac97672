namespace GanBertBots.Conversation;

/// <summary>"🧑 Real" / "🤖 Fake" in /game: scores the guess once per person and round, and stores it as a label.</summary>
public sealed class GameGuessButton(ILabelStore store, Labels labels, ReplyButtons buttons) : Button(ButtonKind.GameGuess)
{
    public override async Task HandleAsync(ButtonContext context, CancellationToken ct)
    {
        var text = context.Text;
        // "real" or "fake", with the round's level after a dash ("real-hard") when it had one.
        string[] parts = (context.Action.Arg ?? "").Split('-', 2);
        string guess = parts[0];
        string? level = parts.Length > 1 ? parts[1] : null;
        // Only texts whose writer is known are played: generated ones, and corpus texts the import knew the writer of.
        if (guess is not ("real" or "fake") || GameCommand.Level(level) is null || text.Origin == TextOrigin.UserSubmitted || (text.Origin == TextOrigin.Corpus && text.WrittenBy is null))
        {
            await context.AcknowledgeAsync(ButtonCheck.NotValid, ct);
            return;
        }
        bool isReal = text.IsHumanCorpusText;
        bool right = (guess == "real") == isReal;
        // A guess is stored as the class the person judged: human for real; for fake, the corpus text's machine, else
        // our generator's class.
        string label = guess == "real" ? labels.Human : text.IsMachineCorpusText ? text.WrittenBy! : labels.Generator;
        // One guess per person and round (a round is the text it shows): otherwise a second press after seeing the
        // answer would count again. The store enforces it with a unique key, so it holds across replicas too.
        var score = await store.RecordGameGuessAsync(new GameGuess(text.Id, context.User.Key, label, right) { DisplayName = context.User.DisplayName, Chat = context.Chat.QualifiedId }, ct);
        if (score.AlreadyCounted)
        {
            await context.AcknowledgeAsync("You already guessed this one.", ct);
            return;
        }
        await context.AcknowledgeAsync(right ? "Right!" : "Wrong!", ct);
        string truth = isReal ? "a real text, written by a person"
            : text.IsMachineCorpusText ? $"fake, written by {text.WrittenBy} (from the corpus {text.CorpusName ?? "imported"})"
            : $"fake, written by {text.ModelVersion ?? "our generator"}";
        await context.Output.SendAsync(new Reply
        {
            Text = $"{(right ? "✅ Right" : "❌ Wrong")}, {context.User.DisplayName}: it was {truth}.\nYour score: {score.Correct}/{score.Played}" +
                   (score.Streak >= 2 ? $" · 🔥 {score.Streak} in a row" : ""),
            Buttons = [[buttons.Make("▶ Next round", ButtonKind.GameNext, text.Id, context.Chat, level)]],
        }, ct);
    }
}
