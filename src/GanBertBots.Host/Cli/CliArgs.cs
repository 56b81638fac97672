using System.Globalization;

namespace GanBertBots.Host.Cli;

/// <summary>
/// Command-line arguments of one verb: positional words, <c>--name value</c> options and
/// <c>--flag</c> switches. Unknown or malformed options are reported, never ignored.
/// </summary>
public sealed class CliArgs
{
    readonly Dictionary<string, string?> _options = new(StringComparer.OrdinalIgnoreCase);
    readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Positional { get; }

    CliArgs(List<string> positional) => Positional = positional;

    /// <param name="flags">Option names that take no value.</param>
    public static CliArgs Parse(IReadOnlyList<string> args, params string[] flags)
    {
        var flagSet = new HashSet<string>(flags, StringComparer.OrdinalIgnoreCase);
        var positional = new List<string>();
        var parsed = new CliArgs(positional);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                string name = a[2..];
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                else if (!flagSet.Contains(name))
                {
                    if (i + 1 >= args.Count) throw new CliUsageException($"--{name} needs a value");
                    value = args[++i];
                }
                parsed._options[name] = value;
            }
            else positional.Add(a);
        }
        return parsed;
    }

    public bool Has(string name) { _used.Add(name); return _options.ContainsKey(name); }

    public bool Flag(string name) => Has(name);

    public string? Get(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out var v) ? v : null;
    }

    public string Require(string name) =>
        Get(name) ?? throw new CliUsageException($"--{name} is required");

    public int GetInt(string name, int fallback) => Parse(name, fallback, s => int.Parse(s, CultureInfo.InvariantCulture));
    public long GetLong(string name, long fallback) => Parse(name, fallback, s => long.Parse(s, CultureInfo.InvariantCulture));
    public double GetDouble(string name, double fallback) => Parse(name, fallback, s => double.Parse(s, CultureInfo.InvariantCulture));
    public int? GetIntOrNull(string name) => Get(name) is null ? null : GetInt(name, 0);
    public long? GetLongOrNull(string name) => Get(name) is null ? null : GetLong(name, 0);
    public double? GetDoubleOrNull(string name) => Get(name) is null ? null : GetDouble(name, 0);

    T Parse<T>(string name, T fallback, Func<string, T> parse)
    {
        string? s = Get(name);
        if (s is null) return fallback;
        try { return parse(s); }
        catch (FormatException) { throw new CliUsageException($"--{name}: '{s}' is not a valid {typeof(T).Name.ToLowerInvariant()}"); }
        catch (OverflowException) { throw new CliUsageException($"--{name}: '{s}' is out of range"); }
    }

    /// <summary>Throws when an option was given that the verb never asked about.</summary>
    public void RejectUnknown()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new CliUsageException("unknown option(s): " + string.Join(", ", unknown.Select(u => "--" + u)));
    }
}

/// <summary>A mistake in how a verb was called: printed with the verb's usage, exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);
