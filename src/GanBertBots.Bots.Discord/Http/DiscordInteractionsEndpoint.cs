using Microsoft.AspNetCore.Mvc;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Bots.Discord.Interactions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Bots.Discord.Http;

/// <summary>
/// The HTTP interactions endpoint: Discord POSTs each interaction here instead of sending it over the gateway, so
/// stateless replicas can sit behind a load balancer. Bad or missing signature → 401 (Discord probes this with
/// forged requests before it accepts the URL); PING → PONG; otherwise the first response is the HTTP answer and the
/// work starts once it has been sent.
/// </summary>
public static class DiscordInteractionsEndpoint
{
    /// <summary>Discord's interaction payloads are small; anything far larger is not from Discord.</summary>
    public const int MaxBodyBytes = 1 << 20;

    public static IEndpointConventionBuilder MapDiscordInteractions(this IEndpointRouteBuilder app, string path,
        DiscordInteractionHandler handler, InteractionSignatureVerifier verifier, ILogger? log = null)
    {
        return app.MapPost(path, async (HttpContext http) =>
        {
            if (http.Request.ContentLength > MaxBodyBytes) return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            // A body without a length (chunked) is read only up to the limit: an unsigned upload never fills memory.
            var body = await ReadBoundedAsync(http.Request.Body, MaxBodyBytes, http.RequestAborted).ConfigureAwait(false);
            if (body is null) return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);

            string? refusal = verifier.Check(http.Request.Headers["X-Signature-Ed25519"], http.Request.Headers["X-Signature-Timestamp"], body);
            if (refusal is not null)
            {
                log?.LogWarning("Discord interactions endpoint: 401, {Reason}", refusal);
                return Results.Text("invalid request signature", statusCode: StatusCodes.Status401Unauthorized);
            }

            DiscordInteractionHandler.Accepted accepted;
            try
            {
                accepted = handler.Accept(JsonNode.Parse(body));
            }
            catch (Exception e) when (e is JsonException or InvalidInteractionException)
            {
                log?.LogError("Discord interactions endpoint: 400, {Error}", e.Message);
                return Results.Text("malformed interaction: " + e.Message, statusCode: StatusCodes.Status400BadRequest);
            }

            // The edit of @original must come after Discord has our first response: start the work once it is sent.
            http.Response.OnCompleted(() => { handler.Start(accepted); return Task.CompletedTask; });
            return Results.Text(accepted.Response.ToJsonString(), "application/json");
        }).WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
    }

    /// <summary>The body if it is at most <paramref name="limit"/> bytes, else null (having read at most one byte past it).</summary>
    public static async Task<byte[]?> ReadBoundedAsync(Stream body, int limit, CancellationToken ct)
    {
        var buffer = new byte[Math.Min(limit + 1, 64 * 1024)];
        using var kept = new MemoryStream();
        int read;
        while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (kept.Length + read > limit) return null;
            kept.Write(buffer, 0, read);
        }
        return kept.ToArray();
    }
}
