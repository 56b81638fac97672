namespace GanBertBots.Conversation;

/// <summary>Edits a message with the newest partial text at most once per interval, from one loop (never overlapping edits).</summary>
sealed class StreamingEdit : IProgress<string>, IAsyncDisposable
{
    readonly IChatOutput _output;
    readonly SentReply _message;
    readonly CancellationTokenSource _stop;
    readonly Task _loop;
    string? _latest;
    string? _shown;

    public StreamingEdit(IChatOutput output, SentReply message, TimeSpan interval, CancellationToken ct)
    {
        _output = output;
        _message = message;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = interval <= TimeSpan.Zero ? Task.CompletedTask : Task.Run(() => LoopAsync(interval));
    }

    public void Report(string value) => Volatile.Write(ref _latest, value);

    async Task LoopAsync(TimeSpan interval)
    {
        try
        {
            while (true)
            {
                await Task.Delay(interval, _stop.Token);
                string? latest = Volatile.Read(ref _latest);
                if (latest is null || latest == _shown || latest.Trim().Length == 0) continue;
                _shown = latest;
                await _output.EditAsync(_message, Reply.Plain(latest + " ▌"), _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception) { /* a failed progress edit is not worth failing the tweet for */ }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}
