using GanBertBots.Models.Runtime;

namespace GanBertBots.Tests.Runtime;

public class RowSplitTests
{
    public static IEnumerable<object[]> Shapes() =>
        from n in new[] { 0, 1, 7, 63, 64, 127, 128, 129, 200, 768, 2304, 3072, 50257 }
        from members in new[] { 1, 2, 3, 4 }
        select new object[] { n, members };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Pieces_cover_every_row_exactly_once(int n, int members)
    {
        var split = new RowSplit(n, members);
        var covered = new int[n];
        for (int c = 0; c < split.Chunks; c++)
        {
            var (first, end) = split[c];
            Assert.InRange(first, 0, n);
            for (int r = first; r < end; r++) covered[r]++;
        }
        Assert.All(covered, count => Assert.Equal(1, count));
    }

    [Fact]
    public void Each_member_gets_a_long_even_band_then_a_shared_tail()
    {
        var split = new RowSplit(3072, 2);
        Assert.Equal(2 + 6, split.Chunks);
        var (a0, a1) = split[0];
        var (b0, b1) = split[1];
        Assert.Equal((0, 1152), (a0, a1));          // 3/4 of the rows over two members
        Assert.Equal((1152, 2304), (b0, b1));
        for (int c = 2; c < split.Chunks; c++)
        {
            var (first, end) = split[c];
            Assert.Equal(0, first % 2);
            Assert.InRange(end - first, RowSplit.MinPieceRows, 1152 / 4);
        }
    }

    [Fact]
    public void Few_rows_or_one_member_make_one_piece()
    {
        Assert.Equal(1, new RowSplit(100, 2).Chunks);
        Assert.Equal((0, 100), new RowSplit(100, 2)[0]);
        Assert.Equal(1, new RowSplit(50257, 1).Chunks);
        Assert.Equal(0, new RowSplit(0, 2).Chunks);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RowSplit(100, 2)[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RowSplit(-1, 2));
    }
}
