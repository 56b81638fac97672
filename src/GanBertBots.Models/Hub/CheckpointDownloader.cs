using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GanBertBots.Common;
using GanBertBots.Models.IO;

namespace GanBertBots.Models.Hub;

// Long on purpose: listing, resumable download, verification and the staging folder's rename are one transaction on one folder.

/// <summary>
/// Downloads a Hugging Face checkpoint (config, safetensors weights, tokenizer files) into
/// <c>{ModelsDirectory}/{name}/</c>, from <c>{BaseUrl}/{repo}/resolve/{revision}/{file}</c>.
/// <list type="bullet">
/// <item>Atomic: files go to a hidden staging folder <c>.{name}.partial/</c>, are verified, and the folder
/// is renamed into place at the end. A failed or interrupted pull never leaves something that looks like a model.</item>
/// <item>Resumable: each file is written to <c>{file}.partial</c>; a retry (in this run or the next) asks for
/// the rest with an HTTP Range request. A server that answers 200 instead of 206 is read from the start.</item>
/// <item>Verified: sizes and SHA-256 (LFS files) or git blob SHA-1 (small files) from the hub's tree listing,
/// or from the <c>X-Linked-Size</c>/<c>X-Linked-Etag</c> headers; a mismatch discards the file.</item>
/// <item>Transient failures (lost connection, stalled transfer, 408/429/5xx) are retried with exponential backoff.</item>
/// </list>
/// One pull at a time per instance.
/// </summary>
public sealed class CheckpointDownloader : IDisposable
{
    readonly HubOptions _options;
    readonly HttpClient _http;
    readonly Uri _hub;
    readonly Backoff _backoff;
    bool _hubAnswered;

    /// <param name="handler">For tests; by default <see cref="PrimaryHandler"/>.</param>
    public CheckpointDownloader(HubOptions options, HttpMessageHandler? handler = null)
        : this(options, new HttpClient(handler ?? PrimaryHandler(options), disposeHandler: true)) { }

    /// <summary>Over a client from <c>IHttpClientFactory</c> whose primary handler is <see cref="PrimaryHandler"/>.</summary>
    public CheckpointDownloader(HubOptions options, HttpClient http)
    {
        _options = options;
        _hub = ParseHubUrl(options.BaseUrl);
        // RetryDelay ± 25%, doubling, up to 30 s. The loops stay here: a try that delivered bytes resets the count,
        // the budget depends on whether the hub ever answered, and a Retry-After header wins over the backoff.
        _backoff = new Backoff(options.RetryDelay * 1.25, TimeSpan.FromSeconds(30)) { Jitter = 0.4 };
        _http = http;
        _http.Timeout = Timeout.InfiniteTimeSpan; // a large file takes as long as it takes; each read has its own timeout
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("ganbertbots/1.0");
    }

    /// <summary>
    /// The handler the downloader needs: it does not follow redirects itself (the downloader does, to read the hub's
    /// headers on the way) and does not decompress (byte ranges must refer to the file itself).
    /// </summary>
    public static SocketsHttpHandler PrimaryHandler(HubOptions options) => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = options.RequestTimeout,
    };

    public void Dispose() => _http.Dispose();

    /// <summary>Fetches <paramref name="checkpoint"/> at <paramref name="revision"/> into the models directory.</summary>
    /// <param name="force">Download again even when the model directory exists (it is replaced only once the new copy is verified).</param>
    /// <exception cref="HubUnreachableException">The hub cannot be reached; the message says which files to put where by hand.</exception>
    /// <exception cref="DownloadIntegrityException">A file failed its size or checksum check.</exception>
    /// <exception cref="UserFacingException">The repository, revision or a required file does not exist, access is denied, ...</exception>
    /// <exception cref="OperationCanceledException">Cancelled; partial files stay in the staging folder for the next pull to resume.</exception>
    public async Task<PullResult> PullAsync(HubCheckpoint checkpoint, string revision = "main", bool force = false,
        IProgress<PullProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (string.IsNullOrWhiteSpace(revision)) throw new UserFacingException("the revision must not be empty");
        string modelsDirectory = Path.GetFullPath(_options.ModelsDirectory);
        string target = Path.Combine(modelsDirectory, checkpoint.LocalName);
        if (Directory.Exists(target) && !force)
        {
            var existing = LocalCheckpoint.Inspect(target);
            return new PullResult(target, checkpoint, existing.Family ?? checkpoint.Family, AlreadyExisted: true,
                existing.Files, [], BytesDownloaded: 0);
        }

        try { Directory.CreateDirectory(modelsDirectory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserFacingException($"cannot create the models folder {modelsDirectory}: {e.Message} (choose another with --dest or Hub:ModelsDirectory)", e);
        }
        using var pullLock = AcquireLock(modelsDirectory, checkpoint.LocalName);
        string staging = Path.Combine(modelsDirectory, "." + checkpoint.LocalName + ".partial");
        var pull = new Pull(checkpoint, revision, staging, progress);
        _hubAnswered = false;
        try
        {
            return await PullIntoAsync(pull, target, modelsDirectory, cancellation);
        }
        finally
        {
            // A pull that failed before any byte arrived leaves no trace.
            if (Directory.Exists(staging) && !Directory.EnumerateFileSystemEntries(staging).Any()) Directory.Delete(staging);
        }
    }

    async Task<PullResult> PullIntoAsync(Pull pull, string target, string modelsDirectory, CancellationToken cancellation)
    {
        var checkpoint = pull.Checkpoint;
        string staging = pull.Staging;
        pull.Remote = await ListRepositoryAsync(pull, cancellation);
        pull.RequireRemote(["config.json", "model.safetensors"]);
        Directory.CreateDirectory(staging);

        // config.json first: its model_type says which tokenizer files belong to the checkpoint.
        await FetchAsync(pull, "config.json", required: true, cancellation);
        var family = FamilyFromConfig(Path.Combine(staging, "config.json"), checkpoint);
        var required = HubCheckpoint.RequiredFiles(family);
        pull.RequireRemote(required);
        CheckFreeSpace(pull, required.Concat(HubCheckpoint.OptionalFiles));
        foreach (string file in required.Where(f => f != "config.json"))
            await FetchAsync(pull, file, required: true, cancellation);
        foreach (string file in HubCheckpoint.OptionalFiles)
            await FetchAsync(pull, file, required: false, cancellation);

        // The weights must at least be a well-formed safetensors file (throws CheckpointException naming it).
        SafeTensors.ReadHeader(Path.Combine(staging, "model.safetensors"));

        cancellation.ThrowIfCancellationRequested();
        InstallStaged(staging, target, modelsDirectory, checkpoint.LocalName);
        return new PullResult(target, checkpoint, family, AlreadyExisted: false, pull.Fetched, pull.Skipped, pull.BytesDownloaded);
    }

    /// <summary>State of one pull.</summary>
    sealed class Pull(HubCheckpoint checkpoint, string revision, string staging, IProgress<PullProgress>? progress)
    {
        public HubCheckpoint Checkpoint { get; } = checkpoint;
        public string Revision { get; } = revision;
        public string Staging { get; } = staging;
        public IProgress<PullProgress>? Progress { get; } = progress;
        /// <summary>The hub's file listing, or null where the hub has no listing API.</summary>
        public Dictionary<string, RemoteFile>? Remote { get; set; }
        public List<string> Fetched { get; } = [];
        public List<string> Skipped { get; } = [];
        public long BytesDownloaded { get; set; }

        public void Report(string file, PullStage stage, long received, long? total, string? message = null) =>
            Progress?.Report(new PullProgress(file, stage, received, total, message));

        public void RequireRemote(IEnumerable<string> files)
        {
            if (Remote is null) return;
            var missing = files.Where(f => !Remote.ContainsKey(f)).ToList();
            if (missing.Count > 0)
                throw new UserFacingException(
                    $"{Checkpoint.RepoId} (revision {Revision}) has no {string.Join(", ", missing)}; it has: {string.Join(", ", Remote.Keys.Order())}. "
                    + "This program reads safetensors weights and Hugging Face tokenizer files only");
        }
    }

    /// <summary>What the hub says about one file; filled in from the listing or the response headers.</summary>
    sealed class RemoteFile
    {
        public long? Size { get; set; }
        /// <summary>SHA-256 of the content (Git LFS files).</summary>
        public string? Sha256 { get; set; }
        /// <summary>Git blob SHA-1 (files stored in git itself).</summary>
        public string? GitSha1 { get; set; }
    }

    // ---- listing ---------------------------------------------------------------------------------

    async Task<Dictionary<string, RemoteFile>?> ListRepositoryAsync(Pull pull, CancellationToken cancellation)
    {
        var files = new Dictionary<string, RemoteFile>(StringComparer.Ordinal);
        Uri? url = new(_hub, $"api/models/{pull.Checkpoint.RepoId}/tree/{Uri.EscapeDataString(pull.Revision)}");
        while (url is not null)
        {
            using var response = await WithRetriesAsync(pull, "file listing", () => SendAsync(url, offset: 0, expected: null, cancellation), cancellation);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) throw AccessDenied(pull, response);
            // No listing (a plain mirror, or an unknown repository): go on without it; resolve requests will tell.
            if (!response.IsSuccessStatusCode) return null;
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellation);
                using var doc = await JsonDocument.ParseAsync(body, cancellationToken: cancellation);
                foreach (var entry in doc.RootElement.EnumerateArray())
                {
                    if (entry.TryGetProperty("type", out var type) && type.GetString() != "file") continue;
                    string? path = entry.GetProperty("path").GetString();
                    if (path is null) continue;
                    var remote = new RemoteFile();
                    if (entry.TryGetProperty("size", out var size) && size.TryGetInt64(out long s)) remote.Size = s;
                    if (entry.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                    {
                        if (lfs.TryGetProperty("oid", out var oid) && IsHex(oid.GetString(), 64)) remote.Sha256 = oid.GetString()!.ToLowerInvariant();
                        if (lfs.TryGetProperty("size", out var lfsSize) && lfsSize.TryGetInt64(out long ls)) remote.Size = ls;
                    }
                    else if (entry.TryGetProperty("oid", out var oid) && IsHex(oid.GetString(), 40)) remote.GitSha1 = oid.GetString()!.ToLowerInvariant();
                    files[path] = remote;
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                return null; // a listing we cannot read is no listing; files are still checked against their headers
            }
            url = NextPage(response, url);
        }
        return files;
    }

    static Uri? NextPage(HttpResponseMessage response, Uri current)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (string part in string.Join(',', links).Split(','))
            if (part.Contains("rel=\"next\"", StringComparison.Ordinal) && part.IndexOf('<') is int a and >= 0 && part.IndexOf('>') is int b && b > a)
                return new Uri(current, part[(a + 1)..b]);
        return null;
    }

    // ---- one file --------------------------------------------------------------------------------

    async Task FetchAsync(Pull pull, string file, bool required, CancellationToken cancellation)
    {
        string finalPath = Path.Combine(pull.Staging, file);
        string partialPath = finalPath + ".partial";
        RemoteFile? listed = null;
        if (pull.Remote is not null && !pull.Remote.TryGetValue(file, out listed))
        {
            if (!required) { File.Delete(partialPath); pull.Skipped.Add(file); pull.Report(file, PullStage.Skipped, 0, null, "not in the repository"); return; }
        }
        var expected = listed ?? new RemoteFile();

        // Finished by an earlier, interrupted pull?
        if (File.Exists(finalPath))
        {
            if (await MatchesAsync(finalPath, expected, cancellation))
            {
                pull.Fetched.Add(file);
                pull.Report(file, PullStage.AlreadyPresent, new FileInfo(finalPath).Length, expected.Size);
                return;
            }
            File.Delete(finalPath);
        }

        var url = new Uri(_hub, $"{pull.Checkpoint.RepoId}/resolve/{Uri.EscapeDataString(pull.Revision)}/{file}");
        int failuresInARow = 0;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var attempt = await TransferOnceAsync(pull, file, url, partialPath, expected, cancellation);
            pull.BytesDownloaded += attempt.Bytes;
            if (attempt.Outcome == Outcome.Complete) break;
            if (attempt.Outcome == Outcome.NotFound)
            {
                File.Delete(partialPath);
                if (required)
                    throw new UserFacingException(pull.Remote is null && file == "config.json"
                        ? $"{_hub} has no {pull.Checkpoint.RepoId} at revision {pull.Revision} ({file}: 404 Not Found). Check the name and revision"
                        : $"{pull.Checkpoint.RepoId} (revision {pull.Revision}) has no {file} on {_hub} (404 Not Found)");
                pull.Skipped.Add(file);
                pull.Report(file, PullStage.Skipped, 0, null, "404 Not Found");
                return;
            }
            // A transfer that made progress resets the count: a flaky link that keeps delivering gets there.
            failuresInARow = attempt.Bytes > 0 ? 1 : failuresInARow + 1;
            if (failuresInARow >= AttemptsFor(attempt.Failure!)) throw GaveUp(pull, file, attempt.Failure!, partialPath);
            var delay = Backoff(failuresInARow, attempt.RetryAfter);
            pull.Report(file, PullStage.Retrying, FileLength(partialPath), expected.Size,
                $"{attempt.Failure}; try {failuresInARow + 1} of {AttemptsFor(attempt.Failure!)} in {delay.TotalSeconds:0.#} s");
            await Task.Delay(delay, cancellation);
        }

        await VerifyAsync(partialPath, file, expected, cancellation);
        File.Move(partialPath, finalPath, overwrite: true);
        pull.Fetched.Add(file);
        pull.Report(file, PullStage.Completed, FileLength(finalPath), FileLength(finalPath));
    }

    enum Outcome { Complete, NotFound, Failed }

    readonly record struct Attempt(Outcome Outcome, long Bytes, Failure? Failure = null, TimeSpan? RetryAfter = null);

    /// <summary>Why a try failed; <see cref="NoAnswer"/> when the hub never answered (cannot connect, timeout).</summary>
    sealed record Failure(string Reason, bool NoAnswer)
    {
        public override string ToString() => Reason;
    }

    /// <summary>One GET of the rest of a file, appended to its .partial (or written afresh when the server ignores Range).</summary>
    async Task<Attempt> TransferOnceAsync(Pull pull, string file, Uri url, string partialPath, RemoteFile expected, CancellationToken cancellation)
    {
        long offset = FileLength(partialPath);
        if (expected.Size is long known && offset > known) { File.Delete(partialPath); offset = 0; }
        if (expected.Size is long size && offset == size && offset > 0) return new(Outcome.Complete, 0);

        HttpResponseMessage response;
        try { response = await SendAsync(url, offset, expected, cancellation); }
        catch (Exception e) when (Transient(e, cancellation) is { } failure) { return new(Outcome.Failed, 0, failure); }

        using (response)
        {
            int status = (int)response.StatusCode;
            if (status == 404) return new(Outcome.NotFound, 0);
            if (status is 401 or 403) throw AccessDenied(pull, response);
            if (status is 408 or 429 or >= 500)
                return new(Outcome.Failed, 0, new Failure($"hub answered {status} {response.ReasonPhrase}", NoAnswer: false), RetryAfter(response));
            if (status == 416)
            {
                // Nothing left to send from that offset: complete if the total agrees, else start over.
                long? total = response.Content.Headers.ContentRange?.Length;
                if (total is long t && t == offset) { expected.Size ??= t; return new(Outcome.Complete, 0); }
                File.Delete(partialPath);
                return new(Outcome.Failed, 0, new Failure("server refused the resume range", NoAnswer: false));
            }
            if (status is not (200 or 206))
                throw new UserFacingException($"{file}: the hub answered {status} {response.ReasonPhrase} for {url}");

            bool append = false;
            if (status == 206)
            {
                var range = response.Content.Headers.ContentRange;
                if (range?.From != offset)
                {
                    File.Delete(partialPath);
                    return new(Outcome.Failed, 0, new Failure($"server resumed at byte {range?.From} instead of {offset}", NoAnswer: false));
                }
                expected.Size ??= range.Length;
                append = true;
            }
            else
            {
                if (offset > 0) pull.Report(file, PullStage.Retrying, 0, expected.Size, "server does not resume downloads; starting this file over");
                offset = 0;
                expected.Size ??= response.Content.Headers.ContentLength;
            }
            pull.Report(file, PullStage.Started, offset, expected.Size);
            return await CopyBodyAsync(pull, file, response, partialPath, append, offset, expected, cancellation);
        }
    }

    async Task<Attempt> CopyBodyAsync(Pull pull, string file, HttpResponseMessage response, string partialPath, bool append,
        long offset, RemoteFile expected, CancellationToken cancellation)
    {
        long received = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            await using var output = new FileStream(partialPath, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            await using var body = await response.Content.ReadAsStreamAsync(cancellation);
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            while (true)
            {
                stall.CancelAfter(_options.StallTimeout);
                int n;
                try { n = await body.ReadAsync(buffer, stall.Token); }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    return new(Outcome.Failed, received, new Failure($"no data for {_options.StallTimeout.TotalSeconds:0} s", NoAnswer: false));
                }
                if (n == 0) break;
                try { await output.WriteAsync(buffer.AsMemory(0, n), cancellation); }
                catch (IOException e) { throw CannotWrite(partialPath, e); }
                received += n;
                pull.Report(file, PullStage.Transferring, offset + received, expected.Size);
            }
            try { await output.FlushAsync(cancellation); }
            catch (IOException e) { throw CannotWrite(partialPath, e); }
        }
        catch (Exception e) when (Transient(e, cancellation) is { } failure)
        {
            return new(Outcome.Failed, received, failure);
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }

        long length = FileLength(partialPath);
        if (expected.Size is long size && length < size)
            return new(Outcome.Failed, received, new Failure($"connection closed at byte {length} of {size}", NoAnswer: false));
        return new(Outcome.Complete, received);
    }

    /// <summary>GET (from <paramref name="offset"/> on), following redirects ourselves so each hop's X-Linked-* headers can be read.</summary>
    async Task<HttpResponseMessage> SendAsync(Uri url, long offset, RemoteFile? expected, CancellationToken cancellation)
    {
        for (int hop = 0; hop < 10; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
            // The token is for the hub only, never for the storage it redirects to.
            if (_options.EffectiveToken is { } token && url.Authority == _hub.Authority)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timeout.CancelAfter(_options.RequestTimeout);
            HttpResponseMessage response;
            try { response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token); }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new TimeoutException($"no answer from {url.Authority} within {_options.RequestTimeout.TotalSeconds:0} s");
            }
            _hubAnswered = true;
            if (expected is not null) AbsorbLinkedHeaders(response, expected);
            if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            return response;
        }
        throw new UserFacingException($"too many redirects fetching {url}");
    }

    /// <summary>The hub's redirect for an LFS file names the file's size and SHA-256.</summary>
    static void AbsorbLinkedHeaders(HttpResponseMessage response, RemoteFile expected)
    {
        if (expected.Size is null && response.Headers.TryGetValues("X-Linked-Size", out var sizes)
            && long.TryParse(sizes.First(), out long size) && size >= 0)
            expected.Size = size;
        if (expected.Sha256 is null && response.Headers.TryGetValues("X-Linked-Etag", out var etags))
        {
            string etag = etags.First().Trim();
            if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
            etag = etag.Trim('"');
            if (IsHex(etag, 64)) expected.Sha256 = etag.ToLowerInvariant();
        }
    }

    async Task<HttpResponseMessage> WithRetriesAsync(Pull pull, string what, Func<Task<HttpResponseMessage>> send, CancellationToken cancellation)
    {
        for (int attempt = 1; ; attempt++)
        {
            Failure failure;
            try
            {
                var response = await send();
                if ((int)response.StatusCode is not (408 or 429 or >= 500)) return response;
                failure = new Failure($"hub answered {(int)response.StatusCode} {response.ReasonPhrase}", NoAnswer: false);
                response.Dispose();
            }
            catch (Exception e) when (Transient(e, cancellation) is { } f) { failure = f; }
            if (attempt >= AttemptsFor(failure)) throw GaveUp(pull, what, failure, partialPath: null);
            var delay = Backoff(attempt, null);
            pull.Report(what, PullStage.Retrying, 0, null, $"{failure}; try {attempt + 1} of {AttemptsFor(failure)} in {delay.TotalSeconds:0.#} s");
            await Task.Delay(delay, cancellation);
        }
    }

    // ---- verification and installation -------------------------------------------------------

    static async Task<bool> MatchesAsync(string path, RemoteFile expected, CancellationToken cancellation)
    {
        if (expected.Size is long size && FileLength(path) != size) return false;
        if (expected.Sha256 is not null) return await Sha256Async(path, cancellation) == expected.Sha256;
        if (expected.GitSha1 is not null) return await GitBlobSha1Async(path, cancellation) == expected.GitSha1;
        return true; // verified when it was renamed from .partial
    }

    static async Task VerifyAsync(string partialPath, string file, RemoteFile expected, CancellationToken cancellation)
    {
        long length = FileLength(partialPath);
        string? problem = null;
        if (expected.Size is long size && length != size)
            problem = $"it has {length} bytes, the hub announced {size}";
        else if (expected.Sha256 is not null && await Sha256Async(partialPath, cancellation) is var sha && sha != expected.Sha256)
            problem = $"its SHA-256 is {sha}, the hub announced {expected.Sha256}";
        else if (expected.GitSha1 is not null && await GitBlobSha1Async(partialPath, cancellation) is var sha1 && sha1 != expected.GitSha1)
            problem = $"its git blob SHA-1 is {sha1}, the hub announced {expected.GitSha1}";
        if (problem is null) return;
        File.Delete(partialPath);
        throw new DownloadIntegrityException(
            $"{file} failed verification: {problem}. The download was discarded and nothing was installed; run the command again "
            + "(if this repeats, the hub or a proxy between is serving a different file)");
    }

    static async Task<string> Sha256Async(string path, CancellationToken cancellation)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellation));
    }

    static async Task<string> GitBlobSha1Async(string path, CancellationToken cancellation)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {FileLength(path)}\0"));
        await using var stream = File.OpenRead(path);
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellation)) > 0) sha1.AppendData(buffer, 0, n);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>Renames the verified staging folder into place; an existing model is swapped out only now.</summary>
    static void InstallStaged(string staging, string target, string modelsDirectory, string name)
    {
        foreach (string leftover in Directory.EnumerateFiles(staging, "*.partial")) File.Delete(leftover);
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            return;
        }
        string previous = Path.Combine(modelsDirectory, $".{name}.replaced-{DateTime.UtcNow:yyyyMMddHHmmss}");
        Directory.Move(target, previous);
        try { Directory.Move(staging, target); }
        catch
        {
            Directory.Move(previous, target); // put the old model back
            throw;
        }
        Directory.Delete(previous, recursive: true);
    }

    static CheckpointFamily FamilyFromConfig(string configPath, HubCheckpoint checkpoint)
    {
        string? modelType = LocalCheckpoint.ReadModelType(configPath);
        var family = HubCheckpoint.FamilyOf(modelType);
        if (family is null)
            throw new CheckpointException(
                $"{configPath}: model_type '{modelType ?? "(none)"}' is not one this program runs (gpt2, bert, distilbert)");
        if (checkpoint.Family is { } wanted && wanted != family)
            throw new CheckpointException($"{configPath}: model_type '{modelType}' is not a {wanted} model, but {checkpoint.LocalName} should be one");
        return family.Value;
    }

    static FileStream AcquireLock(string modelsDirectory, string name)
    {
        string path = Path.Combine(modelsDirectory, $".{name}.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException)
        {
            throw new UserFacingException($"another download of {name} is running (lock file {path}); wait for it to finish");
        }
    }

    /// <summary>Refuses to start when the listing says the files will not fit on the disk.</summary>
    static void CheckFreeSpace(Pull pull, IEnumerable<string> files)
    {
        if (pull.Remote is null) return;
        long needed = 0;
        foreach (string file in files)
            if (pull.Remote.TryGetValue(file, out var remote) && remote.Size is long size)
            {
                string path = Path.Combine(pull.Staging, file);
                needed += Math.Max(0, size - (File.Exists(path) ? size : FileLength(path + ".partial")));
            }
        long free;
        try { free = new DriveInfo(pull.Staging).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return; }
        if (needed > free)
            throw new UserFacingException(
                $"not enough disk space for {pull.Checkpoint.RepoId}: {needed:N0} bytes still to download into {pull.Staging}, {free:N0} free");
    }

    static UserFacingException CannotWrite(string path, IOException e) =>
        new($"cannot write {path}: {e.Message} (disk full?). What was downloaded so far is kept; free space and run the command again", e);

    // ---- failures ----------------------------------------------------------------------------

    /// <summary>Classifies an exception as a transient failure worth retrying, or null (let it propagate).</summary>
    static Failure? Transient(Exception e, CancellationToken cancellation)
    {
        if (cancellation.IsCancellationRequested) return null;
        return e switch
        {
            TimeoutException t => new Failure(t.Message, NoAnswer: true),
            HttpRequestException { InnerException: SocketException s } => new Failure($"cannot connect ({s.SocketErrorCode}: {s.Message})", NoAnswer: true),
            HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError } h =>
                new Failure($"cannot connect ({h.Message})", NoAnswer: true),
            HttpRequestException h => new Failure($"connection lost ({h.Message})", NoAnswer: false),
            IOException io => new Failure($"connection lost ({io.Message})", NoAnswer: false),
            OperationCanceledException => new Failure("request timed out", NoAnswer: true),
            _ => null,
        };
    }

    /// <summary>
    /// Tries allowed for a failure: a hub that has not answered once in this pull (offline, wrong
    /// address) gets two, so the user hears about it in a second rather than after the full backoff.
    /// </summary>
    int AttemptsFor(Failure failure) =>
        failure.NoAnswer && !_hubAnswered ? Math.Min(2, _options.MaxAttempts) : _options.MaxAttempts;

    Exception GaveUp(Pull pull, string what, Failure failure, string? partialPath)
    {
        if (failure.NoAnswer && !_hubAnswered)
            return new HubUnreachableException($"cannot reach the model hub at {_hub} ({failure}). {ManualInstructions(pull)}");
        long kept = partialPath is null ? 0 : FileLength(partialPath);
        return new UserFacingException(
            $"{what}: gave up after {AttemptsFor(failure)} failed tries in a row ({failure})."
            + (kept > 0 ? $" {kept:N0} bytes are kept; run the same command again to resume." : " Run the same command again to resume.")
            + $" {ManualInstructions(pull)}");
    }

    string ManualInstructions(Pull pull)
    {
        var family = pull.Checkpoint.Family;
        string files = family is { } f
            ? string.Join(", ", HubCheckpoint.RequiredFiles(f))
            : "config.json, model.safetensors and the tokenizer files (vocab.json + merges.txt for GPT-2 models, vocab.txt for BERT models)";
        string folder = Path.Combine(_options.ModelsDirectory, pull.Checkpoint.LocalName) + Path.DirectorySeparatorChar;
        return $"To install it by hand, download {files} from {new Uri(_hub, $"{pull.Checkpoint.RepoId}/tree/{pull.Revision}")} "
               + $"on a machine with access and put them into {folder} (or point --hub / Hub:BaseUrl at a reachable mirror).";
    }

    static UserFacingException AccessDenied(Pull pull, HttpResponseMessage response) =>
        new($"the hub refused access to {pull.Checkpoint.RepoId} ({(int)response.StatusCode} {response.ReasonPhrase}): "
            + "the repository is gated, private or does not exist. For gated models accept the licence on the hub and set HF_TOKEN (or Hub:Token)");

    TimeSpan Backoff(int failures, TimeSpan? retryAfter)
    {
        if (retryAfter is { } ra && ra > TimeSpan.Zero) return ra < TimeSpan.FromMinutes(2) ? ra : TimeSpan.FromMinutes(2);
        return _backoff.DelayFor(failures - 1);
    }

    static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } ra
            ? ra.Delta ?? (ra.Date is { } d ? d - DateTimeOffset.UtcNow : null)
            : null;

    static long FileLength(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    static bool IsHex(string? s, int length) => s is not null && s.Length == length && s.All(Uri.IsHexDigit);

    static Uri ParseHubUrl(string baseUrl)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UserFacingException($"hub address '{baseUrl}' is not an http(s) URL (set --hub or Hub:BaseUrl)");
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }
}
