namespace GanBertBots.Training.Rounds;

/// <summary>Step 6: hands the round's report to people (the conversation core posts it to the moderators' chats).</summary>
public interface IRoundNotifier
{
    Task RoundFinishedAsync(RoundReport report, CancellationToken cancellation);
}
