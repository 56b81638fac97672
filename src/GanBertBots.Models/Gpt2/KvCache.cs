using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// Keys and values of every layer for the tokens seen so far, preallocated to the longest
/// sequence a generation can reach so a decoding step writes in place instead of concatenating.
/// Layout per layer: [batch, heads, capacity, head_size]; positions [0, Length) are valid.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _keys;
    readonly Tensor[] _values;

    public int Length { get; private set; }
    public int Capacity { get; }
    public long Batch { get; }

    public KvCache(Gpt2Config config, long batch, int capacity, Device device, ScalarType dtype)
    {
        if (capacity > config.MaxPositions)
            throw new ArgumentException($"sequence of {capacity} tokens exceeds the model's {config.MaxPositions} positions");
        Capacity = capacity;
        Batch = batch;
        _keys = new Tensor[config.Layers];
        _values = new Tensor[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            _keys[i] = zeros(new long[] { batch, config.Heads, capacity, config.HeadSize }, dtype, device);
            _values[i] = zeros(new long[] { batch, config.Heads, capacity, config.HeadSize }, dtype, device);
        }
    }

    /// <summary>
    /// Writes this step's keys/values ([B, H, T, D]) for one layer at [Length, Length+T) and
    /// returns views of everything cached so far, [B, H, Length+T, D].
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        int t = (int)k.shape[2];
        if (Length + t > Capacity)
            throw new InvalidOperationException($"KV cache full: {Length} + {t} > {Capacity}");
        _keys[layer].narrow(2, Length, t).copy_(k);
        _values[layer].narrow(2, Length, t).copy_(v);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Layer <paramref name="layer"/>'s key storage, [B, H, capacity, D] (positions beyond <see cref="Length"/> not yet valid).</summary>
    public Tensor Keys(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s value storage, [B, H, capacity, D].</summary>
    public Tensor Values(int layer) => _values[layer];

    /// <summary>Called once per forward pass, after every layer appended <paramref name="t"/> positions.</summary>
    public void Advance(int t) => Length += t;

    /// <summary>Beam search: row i of the cache becomes row <paramref name="sourceRows"/>[i].</summary>
    public void Reorder(Tensor sourceRows)
    {
        using var scope = NewDisposeScope();
        foreach (var layer in _keys.Concat(_values))
            layer.copy_(layer.index_select(0, sourceRows));
    }

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
