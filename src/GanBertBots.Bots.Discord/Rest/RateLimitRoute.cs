namespace GanBertBots.Bots.Discord.Rest;

/// <summary>
/// The rate-limit identity of a REST call. Discord counts per route (method + path shape) and per top-level
/// resource ("major parameter": channel_id, guild_id, webhook_id + webhook_token); the <c>X-RateLimit-Bucket</c>
/// header later tells which routes share a limit. So a call is keyed by <see cref="Template"/> (to learn the
/// bucket hash) and by <see cref="Major"/> (to keep resources apart). Interaction callbacks keep their
/// interaction id as major so one busy interaction never holds back another.
/// </summary>
public readonly record struct RateLimitRoute(string Template, string Major)
{
    static readonly HashSet<string> TopLevel = ["channels", "guilds", "webhooks", "interactions"];

    /// <summary>True for interaction endpoints (callbacks, and the webhooks we use only with interaction tokens),
    /// which the docs exempt from the bot's global limit.</summary>
    public bool IsInteraction => Template.Contains("/interactions/", StringComparison.Ordinal)
        || Template.Contains("/webhooks/", StringComparison.Ordinal);

    public static RateLimitRoute For(HttpMethod method, string path)
    {
        string clean = path.Split('?', 2)[0].Trim('/');
        string[] seg = clean.Split('/');
        var major = "";
        for (int i = 0; i < seg.Length; i++)
        {
            bool isFirstResource = i == 1 && TopLevel.Contains(seg[0]);
            bool isWebhookToken = i == 2 && seg[0] is "webhooks" or "interactions";
            if (isFirstResource || isWebhookToken)
            {
                // Keep the resource apart, but never let a token appear in logs: hash it.
                major += "/" + (isWebhookToken ? Fingerprint(seg[i]) : seg[i]);
                seg[i] = "{" + seg[0] + "}";
            }
            else if (seg[i].Length > 0 && seg[i].All(char.IsAsciiDigit))
            {
                seg[i] = ":id";
            }
        }
        return new RateLimitRoute(method.Method + " /" + string.Join('/', seg), major);
    }

    static string Fingerprint(string token)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));
        return "t" + Convert.ToHexString(hash, 0, 6);
    }

    public override string ToString() => Template;
}
