namespace GanBertBots.Bots.Telegram;

/// <summary>Configuration section "Telegram".</summary>
public sealed class TelegramOptions
{
    public const string Section = "Telegram";
    public const string PublicApi = "https://api.telegram.org";

    /// <summary>From @BotFather. Empty: the Telegram adapter does not start.</summary>
    public string BotToken { get; set; } = "";
    /// <summary>The Bot API server (tests point it at a local fake).</summary>
    public string ApiBaseUrl { get; set; } = PublicApi;
    /// <summary>polling (default) or webhook.</summary>
    public string Mode { get; set; } = "polling";
    /// <summary>Webhook mode: the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -).</summary>
    public string WebhookSecret { get; set; } = "";
    /// <summary>Webhook mode: the public HTTPS URL Telegram posts to (registered with setWebhook at start).</summary>
    public string WebhookUrl { get; set; } = "";
    /// <summary>Webhook mode: the endpoint's path.</summary>
    public string WebhookPath { get; set; } = "/telegram/webhook";
    /// <summary>Long polling: how long one getUpdates call waits for news.</summary>
    public int PollingTimeoutSeconds { get; set; } = 30;

    // Outbound limits (Telegram's documented ones): queued, never dropped.
    public double MessagesPerSecondPerChat { get; set; } = 1;
    public int MessagesPerMinutePerGroup { get; set; } = 20;
    public int MessagesPerSecondOverall { get; set; } = 30;
    /// <summary>How often a message being streamed into may be edited: private chats / groups.</summary>
    public int PrivateEditIntervalMs { get; set; } = 1000;
    public int GroupEditIntervalMs { get; set; } = 3000;
    /// <summary>How often one call is retried after a 5xx answer before it is given up (and logged).</summary>
    public int MaxRetries { get; set; } = 5;
    /// <summary>
    /// How long one call may spend waiting out 429s in all (Telegram's retry_after): a streak of them delays an answer,
    /// it does not drop it. Counted separately from <see cref="MaxRetries"/>, which bounds retries after 5xx answers.
    /// </summary>
    public int MaxRateLimitWaitSeconds { get; set; } = 120;
    /// <summary>Updates handled at once (across chats; one chat's updates are handled in order).</summary>
    public int MaxConcurrentUpdates { get; set; } = 256;
    /// <summary>How long a looked-up chat-admin status is trusted.</summary>
    public int AdminCacheSeconds { get; set; } = 300;

    /// <summary>Set the bot's command menu (setMyCommands) at start from the conversation core's commands.</summary>
    public bool RegisterCommands { get; set; } = true;

    public bool IsWebhook => string.Equals(Mode, "webhook", StringComparison.OrdinalIgnoreCase);

    /// <summary>The shape of a token @BotFather issues: the bot's numeric id, a colon, then the secret part.</summary>
    public static bool IsBotToken(string token)
    {
        int colon = token.IndexOf(':');
        return colon > 0 && token[..colon].All(char.IsAsciiDigit) && colon < token.Length - 1
            && token[(colon + 1)..].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BotToken)) throw new ArgumentException("Telegram:BotToken is empty");
        if (!IsBotToken(BotToken))
            throw new ArgumentException("Telegram:BotToken is not a bot token: @BotFather gives one like 123456789:AAE... " +
                "(the bot's id, a colon, then letters, digits, _ and -)");
        if (!Uri.TryCreate(ApiBaseUrl, UriKind.Absolute, out _)) throw new ArgumentException($"Telegram:ApiBaseUrl '{ApiBaseUrl}' is not an absolute URL");
        if (!IsWebhook && !string.Equals(Mode, "polling", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"Telegram:Mode '{Mode}' is unknown; use polling or webhook");
        if (IsWebhook)
        {
            if (WebhookSecret.Length is < 1 or > 256 || WebhookSecret.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
                throw new ArgumentException("Telegram:WebhookSecret must be 1-256 characters of A-Z, a-z, 0-9, _ and - in webhook mode");
            if (!WebhookPath.StartsWith('/')) throw new ArgumentException("Telegram:WebhookPath must start with /");
        }
        if (MessagesPerSecondPerChat <= 0 || MessagesPerMinutePerGroup < 1 || MessagesPerSecondOverall < 1)
            throw new ArgumentException("Telegram outbound limits must be positive");
        if (MaxRetries < 0) throw new ArgumentException("Telegram:MaxRetries must not be negative");
        if (MaxRateLimitWaitSeconds < 0) throw new ArgumentException("Telegram:MaxRateLimitWaitSeconds must not be negative");
    }
}
