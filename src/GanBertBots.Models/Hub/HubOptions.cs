namespace GanBertBots.Models.Hub;

/// <summary>
/// Where checkpoints come from and go to. Bound from the "Hub" section of appsettings.json;
/// environment variables override (e.g. <c>GANBERTBOTS_Hub__BaseUrl</c>).
/// </summary>
public sealed class HubOptions
{
    /// <summary>Base address of a Hugging Face compatible hub (or a mirror of one).</summary>
    public string BaseUrl { get; set; } = "https://huggingface.co";

    /// <summary>Folder holding one sub-folder per local model (<c>models/gpt2/</c>...).</summary>
    public string ModelsDirectory { get; set; } = "models";

    /// <summary>Access token for gated or private repositories; when empty the HF_TOKEN environment variable is used.</summary>
    public string? Token { get; set; }

    /// <summary>Tries per request before a transient failure (connection lost, 5xx, 429) becomes an error.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First wait between tries; doubles after each failure (with jitter), capped at 30 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Time allowed to connect and get response headers.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A transfer that delivers no byte for this long is treated as a dropped connection (and resumed).</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public string? EffectiveToken =>
        !string.IsNullOrWhiteSpace(Token) ? Token : Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } t ? t : null;
}
