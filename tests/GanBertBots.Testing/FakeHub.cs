using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace GanBertBots.Testing;

/// <summary>
/// A small Hugging Face-like hub on 127.0.0.1 (Kestrel), behaving like huggingface.co where it matters:
/// <c>/api/models/{repo}/tree/{rev}</c> listings with sizes, git blob SHA-1s and LFS SHA-256s;
/// <c>/{repo}/resolve/{rev}/{file}</c>, redirecting LFS files to a "CDN" path with X-Linked-Size/X-Linked-Etag;
/// Range requests answered with 206. Misbehaviour is switched on per test: dropped connections,
/// ignored Range, corrupted content, 503s, no listing API.
/// </summary>
public sealed class FakeHub : FakeServer
{
    public sealed class HostedFile(byte[] content, bool lfs)
    {
        public byte[] Content { get; } = content;
        public bool Lfs { get; } = lfs;
        /// <summary>Size the listing announces instead of the real one.</summary>
        public long? ListedSize { get; set; }
        /// <summary>Bytes actually sent (the listing still describes <see cref="Content"/>): simulates corruption.</summary>
        public byte[]? ServeInstead { get; set; }
        /// <summary>Send this many bytes of the body, then drop the connection ...</summary>
        public int? DropAfterBytes { get; set; }
        /// <summary>... this many times.</summary>
        public int DropsLeft { get; set; }
        /// <summary>Answer 503 this many times first.</summary>
        public int UnavailableLeft { get; set; }
        public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Content));
        public string GitBlobSha1 => Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {Content.Length}\0"), .. Content]));
    }

    public sealed record Request(string Path, string? Range, int Status);

    /// <summary>repo id → file name → file.</summary>
    public ConcurrentDictionary<string, ConcurrentDictionary<string, HostedFile>> Repos { get; } = new();
    public ConcurrentQueue<Request> Log { get; } = new();
    public bool ListingEnabled { get; set; } = true;
    public bool IgnoreRange { get; set; }
    public bool RedirectLfs { get; set; } = true;

    FakeHub() => App.Run(HandleAsync);

    public static async Task<FakeHub> StartAsync()
    {
        var hub = new FakeHub();
        await hub.ListenAsync();
        return hub;
    }

    public HostedFile Add(string repo, string file, byte[] content, bool lfs = false)
    {
        var f = new HostedFile(content, lfs);
        Repos.GetOrAdd(repo, _ => new())[file] = f;
        return f;
    }

    public IEnumerable<Request> RequestsFor(string file) => Log.Where(r => r.Path.EndsWith("/" + file, StringComparison.Ordinal)
                                                                           || r.Path.Contains("file=" + file, StringComparison.Ordinal));

    async Task HandleAsync(HttpContext ctx)
    {
        string path = Uri.UnescapeDataString(ctx.Request.Path.Value ?? "");
        string? range = ctx.Request.Headers.Range.Count > 0 ? ctx.Request.Headers.Range.ToString() : null;
        int status = await RouteAsync(ctx, path, range);
        Log.Enqueue(new Request(path + ctx.Request.QueryString, range, status));
    }

    async Task<int> RouteAsync(HttpContext ctx, string path, string? range)
    {
        string[] parts = path.Trim('/').Split('/');
        // /api/models/{owner}/{name}/tree/{rev}
        if (parts is ["api", "models", var owner, var name, "tree", _])
        {
            if (!ListingEnabled || !Repos.TryGetValue($"{owner}/{name}", out var repo)) return Status(ctx, 404);
            var entries = repo.Select(kv => kv.Value.Lfs
                ? (object)new { type = "file", oid = new string('0', 40), size = kv.Value.ListedSize ?? kv.Value.Content.Length, path = kv.Key,
                    lfs = new { oid = kv.Value.Sha256, size = kv.Value.ListedSize ?? kv.Value.Content.Length, pointerSize = 134 } }
                : new { type = "file", oid = kv.Value.GitBlobSha1, size = kv.Value.Content.Length, path = kv.Key });
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(JsonSerializer.Serialize(entries));
            return 200;
        }
        // /{owner}/{name}/resolve/{rev}/{file}
        if (parts is [var o, var n, "resolve", _, var fileName])
        {
            if (!Repos.TryGetValue($"{o}/{n}", out var repo) || !repo.TryGetValue(fileName, out var file)) return Status(ctx, 404);
            if (file.UnavailableLeft > 0) { file.UnavailableLeft--; return Status(ctx, 503); }
            if (file.Lfs && RedirectLfs)
            {
                ctx.Response.Headers["X-Linked-Size"] = file.Content.Length.ToString();
                ctx.Response.Headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
                ctx.Response.Headers.Location = $"/cdn/{file.Sha256}?repo={o}/{n}&file={fileName}";
                return Status(ctx, 302);
            }
            return await ServeAsync(ctx, file, range);
        }
        // /cdn/{sha256}?repo=..&file=..
        if (parts is ["cdn", _] && ctx.Request.Query["repo"].ToString() is { Length: > 0 } r
            && Repos.TryGetValue(r, out var cdnRepo) && cdnRepo.TryGetValue(ctx.Request.Query["file"].ToString(), out var cdnFile))
            return await ServeAsync(ctx, cdnFile, range);
        return Status(ctx, 404);
    }

    async Task<int> ServeAsync(HttpContext ctx, HostedFile file, string? range)
    {
        byte[] body = file.ServeInstead ?? file.Content;
        long from = 0;
        int status = 200;
        if (range is not null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= body.Length)
            {
                ctx.Response.Headers.ContentRange = $"bytes */{body.Length}";
                return Status(ctx, 416);
            }
            status = 206;
            ctx.Response.Headers.ContentRange = $"bytes {from}-{body.Length - 1}/{body.Length}";
        }
        ctx.Response.StatusCode = status;
        ctx.Response.ContentLength = body.Length - from;
        ctx.Response.Headers.AcceptRanges = "bytes";
        var rest = body.AsMemory((int)from);
        if (file.DropsLeft > 0 && file.DropAfterBytes is int drop && drop < rest.Length)
        {
            file.DropsLeft--;
            await ctx.Response.Body.WriteAsync(rest[..drop]);
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
            return -status; // negative: dropped
        }
        await ctx.Response.Body.WriteAsync(rest);
        return status;
    }

    static int Status(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        return status;
    }
}
