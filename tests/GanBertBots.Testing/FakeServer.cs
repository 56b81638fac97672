using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Testing;

/// <summary>
/// A Kestrel app on 127.0.0.1 at a free port (the system picks it), with quiet logs: the base of every fake server.
/// A derived class maps its routes on <see cref="App"/> (in its constructor or before starting), then calls
/// <see cref="ListenAsync"/>; <see cref="BaseUrl"/> is known from then on.
/// </summary>
public abstract class FakeServer : IAsyncDisposable
{
    /// <summary>How long stopping waits for requests in flight (long polls, WebSockets) before dropping their connections.</summary>
    static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    int _stopped;

    protected FakeServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        App = builder.Build();
    }

    /// <summary>The app: map routes and middleware on it before <see cref="ListenAsync"/>.</summary>
    protected WebApplication App { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, without a trailing slash; empty until <see cref="ListenAsync"/>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Starts listening on a free port of 127.0.0.1 and sets <see cref="BaseUrl"/>.</summary>
    protected async Task ListenAsync()
    {
        await App.StartAsync();
        BaseUrl = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
    }

    /// <summary>Stops listening (once; later calls do nothing). Requests in flight get 2 s to finish, then their connections are dropped.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        using var stopping = new CancellationTokenSource(StopGrace);
        await App.StopAsync(stopping.Token);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync();
        await App.DisposeAsync();
    }
}
