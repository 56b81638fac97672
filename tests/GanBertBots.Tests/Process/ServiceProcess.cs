using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace GanBertBots.Tests.Process;

/// <summary>
/// The built <c>ganbertbots</c> executable started as its own process, the way the README starts it: in a fresh
/// working folder of its own, with the configuration a user gives (environment variables), standard input for the
/// console chat, standard output and error read as a person would read them. Stopped with SIGTERM as
/// <c>docker stop</c> and <c>timeout</c> stop it.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    readonly System.Diagnostics.Process _process;
    readonly StringBuilder _out = new(), _err = new();
    readonly object _gate = new();
    readonly Stopwatch _sinceStart = Stopwatch.StartNew();

    /// <summary>Time since the process was started (for the start-up times the tests report).</summary>
    public TimeSpan SinceStart => _sinceStart.Elapsed;

    readonly bool _ownsWorkDir;

    ServiceProcess(System.Diagnostics.Process process, string workDir, bool ownsWorkDir)
    {
        _process = process;
        WorkDir = workDir;
        _ownsWorkDir = ownsWorkDir;
    }

    /// <summary>The process's working folder (its data/ and models/ are here).</summary>
    public string WorkDir { get; }
    public string Output { get { lock (_gate) return _out.ToString(); } }
    public string Errors { get { lock (_gate) return _err.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>The host project's build output beside this test build (same configuration).</summary>
    public static string ExecutableDll
    {
        get
        {
            // tests/GanBertBots.Tests/bin/CONFIG/net10.0/ → src/GanBertBots.Host/bin/CONFIG/net10.0/ganbertbots.dll
            var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string framework = testBin.Name, configuration = testBin.Parent!.Name;
            string repo = testBin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            string dll = Path.Combine(repo, "src", "GanBertBots.Host", "bin", configuration, framework, "ganbertbots.dll");
            if (!File.Exists(dll)) throw new FileNotFoundException($"the service is not built at {dll}; `dotnet test GanBertBots.sln` builds it");
            return dll;
        }
    }

    /// <summary>
    /// Starts <c>ganbertbots ARGS</c> in <paramref name="workDir"/>; when null, in a new temporary folder that is deleted
    /// with this object (a folder given is left for the caller).
    /// </summary>
    public static ServiceProcess Start(IReadOnlyDictionary<string, string>? environment = null, string? workDir = null, params string[] args)
    {
        bool owns = workDir is null;
        workDir ??= Directory.CreateTempSubdirectory("ganbertbots-proc-").FullName;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ExecutableDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        // Nothing from the test run's own environment configures the service.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("GANBERTBOTS_") || k.Contains("__")).ToList())
            info.Environment.Remove(key);
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        var process = new System.Diagnostics.Process { StartInfo = info };
        var started = new ServiceProcess(process, workDir, owns);
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (started._gate) started._out.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (started._gate) started._err.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Runs a CLI verb of the built executable in <paramref name="work"/> to its end: exit code, output, errors.</summary>
    public static async Task<(int Code, string Out, string Error)> RunCliAsync(string work, IReadOnlyDictionary<string, string>? environment,
        params string[] args)
    {
        await using var cli = Start(environment, work, args);
        int code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, cli.Output, cli.Errors);
    }

    /// <summary><see cref="RunCliAsync"/> that must succeed.</summary>
    public static async Task RunCliOkAsync(string work, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (code, output, error) = await RunCliAsync(work, environment, args);
        Assert.True(code == 0, $"ganbertbots {string.Join(' ', args)} exited {code}:\n{output}\n{error}");
    }

    /// <summary>Types a line into the console chat.</summary>
    public void Type(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits until standard output contains <paramref name="text"/> at least <paramref name="times"/> times.</summary>
    public Task WaitForOutputAsync(string text, int times = 1, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Count(Output, text) >= times, $"'{text}' x{times} on standard output", timeout);

    public Task WaitForErrorAsync(string text, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Errors.Contains(text), $"'{text}' on standard error", timeout);

    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (_process.HasExited && !condition())
                throw new Xunit.Sdk.XunitException($"the service exited ({_process.ExitCode}) before {what}.\nstdout:\n{Output}\nstderr:\n{Errors}");
            if (clock.Elapsed > limit)
                throw new TimeoutException($"no {what} within {limit.TotalSeconds} s.\nstdout:\n{Output}\nstderr:\n{Errors}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits for the process to end on its own; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the service still runs after {timeout.TotalSeconds} s.\nstdout:\n{Output}\nstderr:\n{Errors}");
        }
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM and waits up to <paramref name="limit"/>; the exit code and how long the stop took.</summary>
    public async Task<(int ExitCode, TimeSpan Took)> TerminateAsync(TimeSpan? limit = null)
    {
        var clock = Stopwatch.StartNew();
        if (kill(_process.Id, SigTerm) != 0) throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        int code = await WaitForExitAsync(limit ?? TimeSpan.FromSeconds(10));
        return (code, clock.Elapsed);
    }

    /// <summary>kill -9: the process ends at once, with no chance to finish or confirm anything.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static int Count(string haystack, string needle)
    {
        int n = 0;
        for (int i = haystack.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = haystack.IndexOf(needle, i + needle.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    const int SigTerm = 15;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        if (_ownsWorkDir)
            try { Directory.Delete(WorkDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
