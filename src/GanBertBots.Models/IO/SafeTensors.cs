using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.IO;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End, string File)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public ScalarType ScalarType => SafeTensors.ToScalarType(DType, Name, File);
}

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
/// little-endian data. Our own reader and writer: no Python, no PyBridge.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers larger than this are refused as corrupt (the format's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static ScalarType ToScalarType(string dtype, string tensor, string file) =>
        DTypes.TryGetValue(dtype, out var d) ? d.Type
            : throw new CheckpointException($"{file}: tensor '{tensor}' has dtype '{dtype}', which is not supported (supported: {string.Join(", ", DTypes.Keys)})");

    public static int ElementSize(string dtype) => DTypes[dtype].Size;

    public static string ToDTypeName(ScalarType t) =>
        DTypes.FirstOrDefault(kv => kv.Value.Type == t).Key
        ?? throw new ArgumentException($"dtype {t} cannot be written to safetensors");

    /// <summary>Reads and validates a file's header: every tensor's range lies inside the file and matches its shape.</summary>
    public static (Dictionary<string, SafeTensorInfo> Tensors, Dictionary<string, string> Metadata, long DataStart) ReadHeader(string path)
    {
        if (!System.IO.File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = fs.Length;
        if (fileLength < 8) throw new CheckpointException($"{path}: truncated safetensors file ({fileLength} bytes; the 8-byte header length is missing)");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        long headerLength = BitConverter.ToInt64(lenBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes)
            throw new CheckpointException($"{path}: not a safetensors file (header length {headerLength} is not plausible)");
        if (8 + headerLength > fileLength)
            throw new CheckpointException($"{path}: truncated safetensors file (header says {headerLength} bytes, file has {fileLength - 8} after the length)");
        var headerBytes = new byte[headerLength];
        fs.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes).TrimEnd(' ', '\0')) as JsonObject
                     ?? throw new CheckpointException($"{path}: safetensors header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: safetensors header is not valid JSON ({e.Message})", e);
        }

        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            try
            {
                var o = node as JsonObject ?? throw new FormatException("entry is not an object");
                string dtype = o["dtype"]?.GetValue<string>() ?? throw new FormatException("missing 'dtype'");
                var shape = (o["shape"] as JsonArray ?? throw new FormatException("missing 'shape'"))
                    .Select(x => x!.GetValue<long>()).ToArray();
                var offs = o["data_offsets"] as JsonArray ?? throw new FormatException("missing 'data_offsets'");
                if (offs.Count != 2) throw new FormatException("'data_offsets' must have two numbers");
                long begin = offs[0]!.GetValue<long>(), end = offs[1]!.GetValue<long>();
                var info = new SafeTensorInfo(name, dtype, shape, begin, end, path);
                _ = info.ScalarType; // validates the dtype
                if (shape.Any(d => d < 0)) throw new FormatException($"negative dimension in shape [{string.Join(",", shape)}]");
                long expected = info.ElementCount * ElementSize(dtype);
                if (begin < 0 || end < begin) throw new FormatException($"bad data_offsets [{begin}, {end}]");
                if (end - begin != expected)
                    throw new FormatException($"data_offsets [{begin}, {end}] hold {end - begin} bytes but shape [{string.Join(",", shape)}] of {dtype} needs {expected}");
                if (end > dataLength)
                    throw new CheckpointException($"{path}: truncated: tensor '{name}' ends at byte {end} of the data, but the file holds only {dataLength} data bytes");
                tensors[name] = info;
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or JsonException)
            {
                throw new CheckpointException($"{path}: tensor '{name}': {e.Message}", e);
            }
        }
        return (tensors, metadata, dataStart);
    }

    /// <summary>Writes tensors (any device, any supported dtype) to a safetensors file, atomically.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            string dtype = ToDTypeName(t.dtype);
            long bytes = t.numel() * ElementSize(dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - headerBytes.Length % 8) % 8; // keep the data 8-byte aligned, padded with spaces as the format allows
        string tmp = path + ".partial";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            fs.Write(BitConverter.GetBytes((long)(headerBytes.Length + pad)));
            fs.Write(headerBytes);
            for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
            foreach (var (_, t) in list)
            {
                using var scope = NewDisposeScope();
                var cpu = t.detach().cpu().contiguous();
                if (cpu.numel() > 0) cpu.WriteBytesToStream(fs);
            }
            fs.Flush(flushToDisk: true);
        }
        System.IO.File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>
/// The weights of a Hugging Face checkpoint directory: <c>model.safetensors</c>, or shards listed
/// in <c>model.safetensors.index.json</c>. Tensors are read on demand.
/// </summary>
public sealed class SafeTensorsCheckpoint
{
    readonly Dictionary<string, SafeTensorInfo> _tensors = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _dataStart = new(StringComparer.Ordinal);

    public string Source { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => _tensors;
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    SafeTensorsCheckpoint(string source) => Source = source;

    /// <summary>Opens a <c>.safetensors</c> file, a <c>.index.json</c> file, or a directory holding either.</summary>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (Directory.Exists(path))
        {
            string single = Path.Combine(path, "model.safetensors");
            string index = Path.Combine(path, "model.safetensors.index.json");
            if (System.IO.File.Exists(single)) path = single;
            else if (System.IO.File.Exists(index)) path = index;
            else throw new CheckpointException(
                $"{path}: no weights found: expected model.safetensors or model.safetensors.index.json " +
                "(PyTorch .bin checkpoints are not read; download the safetensors version, e.g. `ganbertbots models pull NAME`)");
        }
        var ckpt = new SafeTensorsCheckpoint(path);
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) ckpt.AddIndex(path);
        else ckpt.AddFile(path);
        return ckpt;
    }

    void AddIndex(string indexPath)
    {
        if (!System.IO.File.Exists(indexPath)) throw new CheckpointException($"{indexPath}: file not found");
        JsonObject map;
        try
        {
            var root = JsonNode.Parse(System.IO.File.ReadAllText(indexPath)) as JsonObject;
            map = root?["weight_map"] as JsonObject ?? throw new CheckpointException($"{indexPath}: no 'weight_map' object");
        }
        catch (JsonException e) { throw new CheckpointException($"{indexPath}: not valid JSON ({e.Message})", e); }
        string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shards = map.Select(kv => kv.Value?.GetValue<string>() ?? throw new CheckpointException($"{indexPath}: tensor '{kv.Key}' has no shard"))
                        .Distinct().ToList();
        foreach (var shard in shards)
        {
            string shardPath = Path.Combine(dir, shard);
            if (!System.IO.File.Exists(shardPath)) throw new CheckpointException($"{indexPath}: shard '{shard}' is missing");
            AddFile(shardPath);
        }
        foreach (var (name, shard) in map)
        {
            if (!_tensors.TryGetValue(name, out var info))
                throw new CheckpointException($"{indexPath}: tensor '{name}' is listed in the index but not found in shard '{shard}'");
            if (Path.GetFileName(info.File) != shard!.GetValue<string>())
                throw new CheckpointException($"{indexPath}: tensor '{name}' is listed in shard '{shard}' but found in '{Path.GetFileName(info.File)}'");
        }
    }

    void AddFile(string file)
    {
        var (tensors, meta, dataStart) = SafeTensors.ReadHeader(file);
        foreach (var (name, info) in tensors)
        {
            if (_tensors.TryGetValue(name, out var other))
                throw new CheckpointException($"tensor '{name}' appears in both {other.File} and {file}");
            _tensors[name] = info;
            _dataStart[name] = dataStart;
        }
        foreach (var (k, v) in meta) Metadata[k] = v;
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Reads one tensor as stored (CPU, its own dtype).</summary>
    public Tensor Load(string name)
    {
        if (!_tensors.TryGetValue(name, out var info))
            throw new CheckpointException($"{Source}: tensor '{name}' not found");
        var t = empty(info.Shape, info.ScalarType);
        if (info.ElementCount == 0) return t;
        try
        {
            using var fs = new FileStream(info.File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            fs.Seek(_dataStart[name] + info.Begin, SeekOrigin.Begin);
            t.ReadBytesFromStream(fs);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            t.Dispose();
            throw new CheckpointException($"{info.File}: could not read tensor '{name}': {e.Message}", e);
        }
        // A damaged or diverged checkpoint must not load: NaN weights make every output NaN, and libtorch may abort.
        if (t.is_floating_point())
        {
            using var scope = NewDisposeScope();
            if (!t.isfinite().all().item<bool>())
            {
                t.Dispose();
                throw new CheckpointException($"{info.File}: tensor '{name}' holds non-finite values (NaN or infinity); the checkpoint is damaged");
            }
        }
        return t;
    }
}
