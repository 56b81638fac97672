using GanBertBots.Conversation;

namespace GanBertBots.Bots.Console;

/// <summary>
/// A local chat on the terminal with the same commands as the bots: lines in, replies out. Buttons are shown as
/// numbered choices; typing the number presses the button. One person ("console:local"), one private chat, which
/// is also where announcements (round reports) are printed. A terminal shows no pictures: a reply's image is written as
/// a PNG file under <paramref name="imageFolder"/> and its path printed, for the person to open.
/// </summary>
public sealed class ConsoleChat(IConversation conversation, TextReader input, TextWriter output, string? imageFolder = null) : IChatDirectory
{
    /// <summary>Where pictures go when the caller names no folder: the system's temporary folder.</summary>
    public static string DefaultImageFolder => Path.Combine(Path.GetTempPath(), "ganbertbots-console");

    /// <summary>What the console prints before the path of a picture it saved.</summary>
    public const string PictureSaved = "[picture saved: ";

    public const string Platform = "console";
    public static readonly ChatUser LocalUser = new(Platform, "local", "you");
    public static readonly ChatPlace LocalChat = new(Platform, "local", ChatKind.Private);

    readonly Dictionary<int, (string Payload, string? MessageId)> _choices = [];
    readonly object _write = new();
    int _nextMessageId = 1;

    /// <summary>Reads lines until the input ends (or "/quit"), answering each before reading the next.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Write("GanBertBots console chat. Type /help for the commands, /quit to leave.");
        while (!ct.IsCancellationRequested)
        {
            lock (_write) output.Write("> ");
            output.Flush();
            // A terminal read cannot be cancelled: it would hold the host at shutdown until someone pressed Enter. So the
            // wait is what gets cancelled; the abandoned read ends with the process.
            string? line = await Task.Run(() => input.ReadLine(), CancellationToken.None).WaitAsync(ct);
            if (line is null || line.Trim() is "/quit" or "/exit") break;
            line = line.Trim();
            var sink = new Output(this);
            if (int.TryParse(line, out int choice) && _choices.TryGetValue(choice, out var button))
            {
                await conversation.HandleButtonAsync(new ButtonPress
                {
                    User = LocalUser, Chat = LocalChat, Payload = button.Payload, MessageId = button.MessageId,
                }, sink, ct);
                continue;
            }
            await conversation.HandleMessageAsync(new IncomingMessage
            {
                User = LocalUser, Chat = LocalChat, Text = line, MessageId = null,
            }, sink, ct);
        }
    }

    string IChatDirectory.Platform => Platform;

    /// <summary>The console's one chat, "local", for messages nobody typed a command for.</summary>
    public Task<IChatOutput> OpenChatAsync(string chatId, CancellationToken cancellationToken) =>
        chatId == LocalChat.ChatId ? Task.FromResult<IChatOutput>(new Output(this))
            : throw new ArgumentException($"the console has one chat, '{LocalChat.ChatId}', not '{chatId}'");

    public Task<IChatOutput> OpenPrivateChatAsync(string userId, CancellationToken cancellationToken) =>
        userId == LocalUser.UserId ? OpenChatAsync(LocalChat.ChatId, cancellationToken)
            : throw new ArgumentException($"the console has one person, '{LocalUser.UserId}', not '{userId}'");

    void Write(string text)
    {
        lock (_write) output.WriteLine(text);
    }

    string Show(Reply reply, string messageId, bool edited)
    {
        lock (_write)
        {
            output.WriteLine(edited ? $"~ (message {messageId} updated)" : "");
            output.WriteLine(reply.Text);
            if (reply.Image != null) output.WriteLine(PictureSaved + SaveImage(reply.Image, messageId) + "]");
            if (reply.Buttons.Count > 0)
            {
                _choices.Clear();
                int n = 1;
                foreach (var row in reply.Buttons)
                {
                    var cells = new List<string>();
                    foreach (var b in row)
                    {
                        _choices[n] = (b.Payload, messageId);
                        cells.Add($"[{n}] {b.Label}");
                        n++;
                    }
                    output.WriteLine("  " + string.Join("   ", cells));
                }
                output.WriteLine("  (type a number to choose)");
            }
            return messageId;
        }
    }

    string SaveImage(ReplyImage image, string messageId)
    {
        string folder = imageFolder ?? DefaultImageFolder;
        Directory.CreateDirectory(folder);
        string path = Path.GetFullPath(Path.Combine(folder, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{messageId}-{Path.GetFileName(image.FileName)}"));
        File.WriteAllBytes(path, image.Png);
        return path;
    }

    /// <summary>The console as an <see cref="IChatOutput"/>: no streaming edits (only the finished text is printed).</summary>
    sealed class Output(ConsoleChat chat) : IChatOutput
    {
        public TimeSpan EditInterval => TimeSpan.Zero;
        public int MaxMessageLength => 100_000;

        public Task<SentReply> SendAsync(Reply reply, CancellationToken ct)
        {
            string id = Interlocked.Increment(ref chat._nextMessageId).ToString();
            chat.Show(reply, id, edited: false);
            return Task.FromResult(new SentReply(LocalChat.ChatId, id));
        }

        public Task EditAsync(SentReply message, Reply reply, CancellationToken ct)
        {
            chat.Show(reply, message.MessageId, edited: true);
            return Task.CompletedTask;
        }

        public Task ShowTypingAsync(CancellationToken ct) => Task.CompletedTask;

        public Task AcknowledgeButtonAsync(string? notice, CancellationToken ct)
        {
            if (notice != null) chat.Write($"({notice})");
            return Task.CompletedTask;
        }
    }
}
