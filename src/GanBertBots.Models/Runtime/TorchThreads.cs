using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace GanBertBots.Models.Runtime;

/// <summary>
/// How many threads the calling thread's torch operations, and our own CPU kernels, may use.
/// <para>
/// libtorch's CPU build parallelises with OpenMP, whose thread count is a per-thread setting
/// (<c>omp_set_num_threads</c> changes it for the calling thread only). Decoding on the CPU path
/// spreads each step over the cores with a <see cref="CpuTeam"/>; between steps it runs a few small
/// torch operations (sampling's repetition penalty, top-k and softmax). Left at several OpenMP threads,
/// each of those wakes torch's pool, whose idle workers then spin on the cores the team needs, and the
/// steps slow down (docs/decoding.md has the figures). <see cref="LimitCallingThread"/> keeps those
/// operations on the calling thread, without touching any other thread.
/// </para>
/// <para>
/// Only the CPU decoding path uses this: a decode step made by <see cref="Gpt2.Gpt2CpuDecoder"/> sets the
/// limit when it starts and restores it when disposed, so no caller has to remember it.
/// </para>
/// </summary>
internal static class TorchThreads
{
    [ThreadStatic] static int _limitedFrom;   // the count before LimitCallingThread, 0 when not limited

    static readonly nint OpenMpSetThreads = Resolve();   // omp_set_num_threads, or 0

    /// <summary>Threads the CPU kernels of the calling thread may use: torch's count, before any limit set by <see cref="LimitCallingThread"/>.</summary>
    public static int Available => _limitedFrom > 0 ? _limitedFrom : get_num_threads();

    /// <summary>
    /// Until disposed, torch operations on the calling thread use at most <paramref name="threads"/>
    /// OpenMP threads. A no-op where libtorch's OpenMP entry points cannot be found.
    /// </summary>
    public static IDisposable LimitCallingThread(int threads)
    {
        int before = get_num_threads();   // also makes sure libtorch is loaded
        if (OpenMpSetThreads == 0 || threads >= before) return new Restore(0, 0);
        int outer = _limitedFrom;
        _limitedFrom = outer > 0 ? outer : before;
        SetOpenMpThreads(threads);
        return new Restore(before, outer);
    }

    sealed class Restore(int threads, int outer) : IDisposable
    {
        int _threads = threads;

        public void Dispose()
        {
            if (_threads == 0) return;
            SetOpenMpThreads(_threads);
            _limitedFrom = outer;
            _threads = 0;
        }
    }

    static unsafe void SetOpenMpThreads(int n) => ((delegate* unmanaged<int, void>)OpenMpSetThreads)(n);

    static nint Resolve()
    {
        get_num_threads();   // libtorch loaded before we look inside it
        foreach (string name in new[] { "libtorch_cpu.so", "libtorch_cpu.dylib", "torch_cpu.dll" })
            if (NativeLibrary.TryLoad(name, typeof(TorchSharp.torch).Assembly, null, out var handle)
                && NativeLibrary.TryGetExport(handle, "omp_set_num_threads", out var set))
                return set;
        return 0;
    }
}
