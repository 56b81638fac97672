using System.Text;

namespace GanBertBots.Storage.Corpus;

/// <summary>A CSV file that breaks the format: says where (line) and what.</summary>
public sealed class CsvFormatException(string message) : FormatException(message);

/// <summary>
/// Reads RFC 4180 CSV one record at a time: fields separated by commas, records by CRLF or LF (or CR);
/// a field in double quotes may hold separators, line breaks and doubled quotes (<c>""</c> is one <c>"</c>).
/// Lenient where real files are: a quote inside an unquoted field is kept as a character, and a blank line
/// between records is skipped. An unclosed quote or text after a closing quote is an error with its line.
/// </summary>
public sealed class CsvReader(TextReader input, char separator = ',')
{
    readonly StringBuilder _field = new();
    int _line = 1;

    /// <summary>The line (1-based) where the record last returned began.</summary>
    public int RecordLine { get; private set; }

    /// <summary>The next record's fields, or null at the end of the input.</summary>
    public string[]? ReadRecord()
    {
        int c;
        // Skip blank lines between records.
        while ((c = input.Read()) is '\r' or '\n')
        {
            if (c == '\r' && input.Peek() == '\n') input.Read();
            _line++;
        }
        if (c == -1) return null;
        RecordLine = _line;
        var fields = new List<string>();
        while (true)
        {
            _field.Clear();
            if (c == '"')
            {
                int opened = _line;
                while (true)
                {
                    c = input.Read();
                    if (c == -1) throw new CsvFormatException($"line {opened}: a quoted field is never closed");
                    if (c == '"')
                    {
                        if (input.Peek() != '"') break;
                        input.Read();
                    }
                    else if (c == '\n' || (c == '\r' && input.Peek() != '\n')) _line++;
                    _field.Append((char)c);
                }
                c = input.Read();
                if (c != separator && c is not ('\r' or '\n' or -1))
                    throw new CsvFormatException($"line {_line}: '{(char)c}' after the closing quote of a field (a quote inside a quoted field is written \"\")");
            }
            else
            {
                while (c != separator && c is not ('\r' or '\n' or -1))
                {
                    _field.Append((char)c);
                    c = input.Read();
                }
            }
            fields.Add(_field.ToString());
            if (c == separator)
            {
                c = input.Read();
                continue;
            }
            if (c == '\r' && input.Peek() == '\n') input.Read();
            if (c != -1) _line++;
            return fields.ToArray();
        }
    }
}

/// <summary>A CSV file with a header row: records as name → value, each checked to have the header's field count.</summary>
public sealed class CsvTable
{
    readonly CsvReader _reader;
    readonly Dictionary<string, int> _columns;

    public IReadOnlyList<string> Header { get; }

    public CsvTable(TextReader input, char separator = ',')
    {
        _reader = new CsvReader(input, separator);
        Header = _reader.ReadRecord() ?? throw new CsvFormatException("the file is empty (no header row)");
        _columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < Header.Count; i++)
            _columns.TryAdd(Header[i].Trim(), i);
    }

    public bool HasColumn(string name) => _columns.ContainsKey(name);

    public int Column(string name) => _columns.TryGetValue(name, out int i)
        ? i
        : throw new CsvFormatException($"no column '{name}'; the header has: {string.Join(", ", Header)}");

    /// <summary>The data records (after the header).</summary>
    public IEnumerable<string[]> Records()
    {
        int number = 0;
        while (_reader.ReadRecord() is { } record)
        {
            number++;
            if (record.Length != Header.Count)
                throw new CsvFormatException(
                    $"line {_reader.RecordLine}: record {number} has {record.Length} fields, the header has {Header.Count}");
            yield return record;
        }
    }
}
