using GanBertBots.Models.Runtime;
using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// The CPU decoding path: decoding steps of 1 to <see cref="MaxRows"/> sequences computed in fp32 straight
/// from the weights' memory with <see cref="CpuKernels"/>, spread over a <see cref="CpuTeam"/>. Owned by a
/// generator (<see cref="Generation.Gpt2Generator"/>), which asks it for a step per generation
/// (<see cref="TryBegin"/>) and uses torch where it declines.
/// <para>
/// It owns its thread team: made on the first step it serves, sized to torch's thread count then, and ended
/// on <see cref="Dispose"/>. A team passed in instead is borrowed: used, never disposed (the bench shares
/// one between the decoder and its bandwidth readings, so that the same threads do both).
/// </para>
/// <para>
/// Why it exists: a decoding step is a chain of matrix-vector products over every weight, and libtorch's
/// CPU BLAS streams them at a fraction of the memory's speed; each torch call also costs a few
/// microseconds, which add up over a step's hundreds of calls. Here each weight row is read once per step
/// whatever the number of rows. Other cases (prompts, larger batches, training, CUDA, half precision, the
/// exact-erf GELU) stay on torch. docs/decoding.md has the measurements.
/// </para>
/// </summary>
public sealed class Gpt2CpuDecoder : IDisposable
{
    /// <summary>
    /// The most sequences one step takes. Measured up to 32 against libtorch (bench generate), which handles
    /// these small-by-large products poorly; larger batches, not measured, stay with libtorch.
    /// </summary>
    public const int MaxRows = 32;

    readonly object _gate = new();
    readonly bool _ownsTeam;
    CpuTeam? _team;
    long _steps;
    bool _disposed;

    /// <param name="team">A team to borrow (not disposed here), or null to make one when first needed.</param>
    public Gpt2CpuDecoder(CpuTeam? team = null)
    {
        _team = team;
        _ownsTeam = team is null;
    }

    /// <summary>How many decoding steps this decoder has computed (diagnostics and tests).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Whether a model (as it is now) can decode on this path: CPU, fp32, contiguous, an activation other than exact-erf GELU.</summary>
    public static bool Supports(Gpt2LMHeadModel model) =>
        model.Device.type == TorchSharp.DeviceType.CPU
        && model.DType == ScalarType.Float32
        && model.Config.ActivationFunction != Gpt2Activation.GeluErf
        && model.parameters().All(p => p.is_contiguous());

    /// <summary>
    /// The decoding steps of one generation over <paramref name="cache"/> on this path, or null where it does
    /// not apply (then decode with <see cref="TorchDecodeStep"/>): a model it does not <see cref="Supports"/>,
    /// a cache that is not CPU fp32 or holds more than <see cref="MaxRows"/> rows, or gradients enabled (the
    /// kernels are invisible to autograd). The step reads the model's weights as they are when it begins; while
    /// it lives, torch operations on the calling thread use one thread (<see cref="TorchThreads"/>), so torch's
    /// pool does not compete with the team between steps. Dispose it on the same thread.
    /// </summary>
    public IDecodeStep? TryBegin(Gpt2LMHeadModel model, KvCache cache)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cache.Batch is < 1 or > MaxRows || is_grad_enabled() || !Supports(model)) return null;
        var keys = cache.Keys(0);
        if (keys.device_type != TorchSharp.DeviceType.CPU || keys.dtype != ScalarType.Float32) return null;
        return new Gpt2CpuDecodeStep(model.Config, model.Weights(), cache, Team(), () => Interlocked.Increment(ref _steps));
    }

    CpuTeam Team()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Sized before the step limits this thread's torch count (TorchThreads.Available sees through that limit).
            return _team ??= new CpuTeam(TorchThreads.Available);
        }
    }

    /// <summary>Ends the team if this decoder made it. Steps already begun must have ended.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_ownsTeam) _team?.Dispose();
            _team = null;
        }
    }
}
