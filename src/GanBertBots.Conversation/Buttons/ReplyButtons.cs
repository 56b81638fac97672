namespace GanBertBots.Conversation;

/// <summary>Makes the buttons under replies, their payloads signed for the chat they are shown in.</summary>
public sealed class ReplyButtons(ButtonPayloadCodec codec)
{
    public ReplyButton Make(string label, ButtonKind kind, long textId, ChatPlace chat, string? arg = null) =>
        new(label, codec.Encode(new ButtonAction(kind, textId, arg), chat));

    /// <summary>One button per class, three to a row.</summary>
    public List<IReadOnlyList<ReplyButton>> ClassRows(IEnumerable<string> classes, ButtonKind kind, long textId, ChatPlace chat) =>
        classes.Select(c => Make(c, kind, textId, chat, c)).Chunk(3).Select(r => (IReadOnlyList<ReplyButton>)r).ToList();
}
