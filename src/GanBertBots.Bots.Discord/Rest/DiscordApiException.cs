using System.Net;

namespace GanBertBots.Bots.Discord.Rest;

/// <summary>A Discord REST call failed for good (after the retries it deserved). Carries what Discord said.</summary>
public class DiscordApiException : Exception
{
    public DiscordApiException(string method, string route, HttpStatusCode? status, int? code, string message, Exception? inner = null)
        : base($"Discord {method} {route} failed" + (status is { } s ? $" with HTTP {(int)s}" : "") +
               (code is { } c ? $" (code {c})" : "") + $": {message}", inner)
    {
        Status = status;
        Code = code;
        DiscordMessage = message;
    }

    /// <summary>HTTP status, or null when no response came back (network failure).</summary>
    public HttpStatusCode? Status { get; }
    /// <summary>Discord's JSON error code (e.g. 10062 Unknown interaction), when the body had one.</summary>
    public int? Code { get; }
    public string DiscordMessage { get; }
}

/// <summary>Still rate limited after every retry allowed by <c>Discord:RestMaxRetries</c>.</summary>
public sealed class DiscordRateLimitedException(string method, string route, TimeSpan retryAfter, string scope)
    : DiscordApiException(method, route, HttpStatusCode.TooManyRequests, null,
        $"still rate limited ({scope} scope, retry after {retryAfter.TotalSeconds:0.###} s) after the allowed retries")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
    public string Scope { get; } = scope;
}
