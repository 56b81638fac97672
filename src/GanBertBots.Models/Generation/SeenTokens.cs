using static TorchSharp.torch;

namespace GanBertBots.Models.Generation;

/// <summary>
/// The distinct token ids each row of a generation has seen so far (its prompt, then its output),
/// in the order first seen: what <see cref="LogitsProcessing.RepetitionPenalty"/> needs.
/// </summary>
public sealed class SeenTokens
{
    readonly List<long>[] _ids;
    readonly HashSet<long>[] _known;

    public SeenTokens(IReadOnlyList<int[]> prompts)
    {
        _ids = new List<long>[prompts.Count];
        _known = new HashSet<long>[prompts.Count];
        for (int r = 0; r < prompts.Count; r++)
        {
            _ids[r] = new List<long>();
            _known[r] = new HashSet<long>();
            foreach (int id in prompts[r]) Add(r, id);
        }
    }

    SeenTokens(List<long>[] ids, HashSet<long>[] known) { _ids = ids; _known = known; }

    public void Add(int row, long token)
    {
        if (_known[row].Add(token)) _ids[row].Add(token);
    }

    /// <summary>A copy whose row i is this one's row <paramref name="sourceRows"/>[i] (beam search's reordering).</summary>
    public SeenTokens Reordered(IReadOnlyList<long> sourceRows) =>
        new(sourceRows.Select(s => new List<long>(_ids[s])).ToArray(), sourceRows.Select(s => new HashSet<long>(_known[s])).ToArray());

    /// <summary>[rows, S] int64, S the longest row; a shorter row repeats its first id (a row that has seen nothing is refused).</summary>
    public Tensor ToTensor(Device device)
    {
        int width = _ids.Max(r => r.Count);
        var flat = new long[_ids.Length * width];
        for (int r = 0; r < _ids.Length; r++)
        {
            var row = _ids[r];
            if (row.Count == 0) throw new InvalidOperationException($"row {r} has seen no token (prompts cannot be empty)");
            for (int j = 0; j < width; j++) flat[r * width + j] = j < row.Count ? row[j] : row[0];
        }
        return tensor(flat, new long[] { _ids.Length, width }, device: device);
    }
}
