namespace GanBertBots.Models.Runtime;

/// <summary>Work on the outputs first..end of a product, run by the thread that computed them.</summary>
public delegate void RowEpilogue(int first, int end);

/// <summary>
/// How <see cref="CpuKernels.MatMat"/> cuts a matrix's n rows into pieces for a team of members:
/// first one long band per member (three quarters of the rows), so that each core reads a single
/// sequential stream, then a tail of small pieces that whichever member is ahead takes.
/// <para>
/// Why the tail: on a shared (virtual) machine a core whose host neighbour is busy slows down for a
/// while. With equal bands the fast core then waits for the slow one at every product; with a shared
/// tail it picks up the difference. docs/decoding.md has the measurements.
/// </para>
/// </summary>
public readonly struct RowSplit
{
    /// <summary>The fewest rows worth a piece of their own.</summary>
    public const int MinPieceRows = 16;

    readonly int _n, _members, _band, _tailStart, _tailPiece;

    /// <summary>How many pieces there are: bands, then tail pieces (a piece may be empty: skip it).</summary>
    public int Chunks { get; }

    public RowSplit(int n, int members)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "rows cannot be negative");
        _n = n;
        members = Math.Max(1, members);
        if (members == 1 || n < 4 * MinPieceRows * members)
        {
            // Too few rows to share (or no one to share with): one piece.
            _members = 1; _band = n; _tailStart = n; _tailPiece = 0;
            Chunks = n == 0 ? 0 : 1;
            return;
        }
        _members = members;
        _band = (n * 3 / 4 / members) & ~1;   // even: MatMatRows reads rows in pairs
        _tailStart = _band * members;
        int tailRows = n - _tailStart;
        int tailPieces = Math.Clamp(tailRows / MinPieceRows, 1, 3 * members);
        _tailPiece = ((tailRows + tailPieces - 1) / tailPieces + 1) & ~1;
        Chunks = members + tailPieces;
    }

    /// <summary>Rows [First, End) of piece <paramref name="chunk"/> (First ≥ End: an empty piece).</summary>
    public (int First, int End) this[int chunk]
    {
        get
        {
            if ((uint)chunk >= (uint)Chunks) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"pieces are 0..{Chunks - 1}");
            if (chunk < _members) return (chunk * _band, _members == 1 ? _n : (chunk + 1) * _band);
            int first = _tailStart + (chunk - _members) * _tailPiece;
            return (Math.Min(first, _n), Math.Min(first + _tailPiece, _n));
        }
    }
}
