using GanBertBots.Conversation;
using GanBertBots.Inference;
using SkiaSharp;

namespace GanBertBots.Tests.Bots;

/// <summary>Hand-made evidence for a text, as the zero-shot scorer would return it (token texts with their leading spaces).</summary>
public static class HandMadeEvidence
{
    /// <summary>A flood warning in three sentences; its ranks cover all four GLTR buckets.</summary>
    public static TextEvidence FloodWarning() => Make(
        [
            [("Flood", 0), (" warning", 14), (" for", 2), (" the", 1), (" river", 212), (" valley", 9), (" tonight", 48), (".", 1)],
            [(" Residents", 1630), (" near", 6), (" the", 1), (" old", 33), (" bridge", 75), (" should", 3), (" move", 11), (" to", 1),
             (" higher", 2), (" ground", 1), (" before", 27), (" midnight", 140), (".", 1)],
            [(" Stay", 402), (" safe", 4), (",", 2), (" everyone", 96), ("!", 7), (" #", 880), ("fl", 3100), ("ood", 1),
             ("wx", 24000)],
        ], [0.83, 0.62, 0.18], zeroShotScore: 1.37);

    /// <summary>Evidence from sentences of (token, rank) pairs and one machine-likelihood per sentence.</summary>
    public static TextEvidence Make(IReadOnlyList<IReadOnlyList<(string Text, int Rank)>> sentences, IReadOnlyList<double> likelihoods,
        double zeroShotScore = double.NaN)
    {
        var tokens = new List<TokenEvidence>();
        var spans = new List<SentenceEvidence>();
        for (int s = 0; s < sentences.Count; s++)
        {
            spans.Add(new SentenceEvidence(tokens.Count, sentences[s].Count, likelihoods[s]));
            foreach (var (text, rank) in sentences[s])
                tokens.Add(new TokenEvidence(text, rank, rank == 0 ? 0 : -Math.Log(rank + 1.0)));
        }
        return new TextEvidence
        {
            Outcome = InferenceOutcome.Completed, Tokens = tokens, Sentences = spans, ZeroShotScore = zeroShotScore, ScorerVersion = "test-gpt2",
        };
    }
}

public sealed class WhyPictureTests
{
    /// <summary>The hue family a person would name for a background colour, judged from its channels alone.</summary>
    static string Family(SKColor c)
    {
        int r = c.Red, g = c.Green, b = c.Blue;
        if (r > 200 && g > 200 && b > 200 && Math.Max(r, Math.Max(g, b)) - Math.Min(r, Math.Min(g, b)) < 30) return "grey";
        if (g > r + 30 && g > b + 30) return "green";
        if (r > 200 && g > 180 && b < g - 60) return "yellow";
        if (r > g + 60 && r > b + 60 && Math.Abs(g - b) < 40) return "red";
        if (r > g + 30 && b > g + 30) return "purple";
        return $"other({r},{g},{b})";
    }

    /// <summary>The most common colour inside a token's box: its background, whatever glyph strokes lie over it.</summary>
    static SKColor Background(SKBitmap bitmap, TokenBox box)
    {
        var counts = new Dictionary<SKColor, int>();
        for (int y = (int)box.Top + 1; y < (int)box.Bottom - 1; y++)
            for (int x = (int)box.Left + 1; x < (int)box.Right - 1; x++)
            {
                var c = bitmap.GetPixel(x, y);
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
        return counts.MaxBy(kv => kv.Value).Key;
    }

    [Fact]
    public void Each_token_sits_on_its_rank_buckets_colour_in_a_phone_sized_png()
    {
        var evidence = HandMadeEvidence.FloodWarning();
        var picture = WhyPicture.Render(evidence);

        using var bitmap = SKBitmap.Decode(picture.Png);
        Assert.NotNull(bitmap);
        Assert.Equal((picture.Width, picture.Height), (bitmap.Width, bitmap.Height));
        Assert.InRange(bitmap.Width, 800, 1100);
        Assert.InRange(bitmap.Height, 300, 1000);
        Assert.False(picture.Cut);
        Assert.Equal(evidence.Tokens.Count, picture.TokensShown);

        // One token of each bucket, by its rank in the evidence (GLTR: ≤10 green, ≤100 yellow, ≤1000 red, beyond purple).
        (string Token, int Rank, string Family)[] chosen =
            [(" river", 212, "red"), (" valley", 9, "green"), (" tonight", 48, "yellow"), (" Residents", 1630, "purple"), (" the", 1, "green"),
             (" bridge", 75, "yellow"), (" Stay", 402, "red"), ("wx", 24000, "purple"), ("Flood", 0, "grey")];
        foreach (var (text, rank, family) in chosen)
        {
            int index = evidence.Tokens.ToList().FindIndex(t => t.Text == text && t.Rank == rank);
            var box = picture.Boxes.First(b => b.Token == index);
            Assert.True(box.Right - box.Left > 10 && box.Bottom - box.Top > 20, $"box of '{text}' is {box}");
            Assert.InRange(box.Right, 0, bitmap.Width);
            Assert.Equal(family, Family(Background(bitmap, box)));
        }
    }

    [Fact]
    public void Each_sentence_starts_a_line_with_its_bar_in_the_margin()
    {
        var evidence = HandMadeEvidence.FloodWarning();
        var picture = WhyPicture.Render(evidence);
        using var bitmap = SKBitmap.Decode(picture.Png);
        foreach (var sentence in evidence.Sentences)
        {
            var first = picture.Boxes.First(b => b.Token == sentence.FirstToken);
            // Nothing of an earlier token on the sentence's first line: it starts the line.
            Assert.DoesNotContain(picture.Boxes, b => b.Token < sentence.FirstToken && b.Top == first.Top);
            // The bar: dark pixels in the margin at the line's height, as far as the likelihood says (of an 84 px track from x=28).
            int y = (int)((first.Top + first.Bottom) / 2);
            int dark = Enumerable.Range(28, 84).Count(x => bitmap.GetPixel(x, y) is var c && c.Red < 120 && c.Blue > c.Red);
            Assert.InRange(dark, sentence.MachineLikelihood * 84 - 3, sentence.MachineLikelihood * 84 + 3);
        }
    }

    [Fact]
    public void A_long_text_is_cut_with_a_note_and_the_picture_stays_bounded()
    {
        var sentence = Enumerable.Range(0, 40).Select(i => ($" word{i}", i * 37 % 2000)).ToList();
        var evidence = HandMadeEvidence.Make(Enumerable.Repeat<IReadOnlyList<(string, int)>>(sentence, 30).ToList(),
            Enumerable.Range(0, 30).Select(i => i / 30.0).ToList());
        var picture = WhyPicture.Render(evidence);

        using var bitmap = SKBitmap.Decode(picture.Png);
        Assert.InRange(bitmap.Height, 300, 1800);
        Assert.True(picture.Cut);
        Assert.InRange(picture.TokensShown, 50, 1199);
        Assert.Contains($"… first {picture.TokensShown} of 1200 tokens shown.", picture.Notes);
        Assert.All(picture.Boxes, b => Assert.True(b.Bottom < bitmap.Height && b.Right <= bitmap.Width));
    }

    [Fact]
    public void A_token_wider_than_the_column_and_newlines_wrap_inside_the_picture()
    {
        var evidence = HandMadeEvidence.Make([[("https://", 0), (new string('x', 120), 5000), ("\n\nNext", 3), (" line", 2)]], [0.5]);
        var picture = WhyPicture.Render(evidence);
        Assert.True(picture.Boxes.Count(b => b.Token == 1) >= 2, "the long token is split over lines");
        Assert.All(picture.Boxes, b => Assert.InRange(b.Right, 0, picture.Width - 20));
        var next = picture.Boxes.Single(b => b.Token == 2);
        Assert.True(next.Top > picture.Boxes.Where(b => b.Token == 1).Max(b => b.Top), "a newline starts a new line");
    }

    [Fact]
    public void Evidence_that_was_not_computed_has_no_picture()
    {
        var e = Assert.Throws<ArgumentException>(() => WhyPicture.Render(new TextEvidence { Outcome = InferenceOutcome.Unavailable, Message = "no GPT-2" }));
        Assert.Contains("no GPT-2", e.Message);
    }

    /// <summary>Writes the docs' example picture when GANBERTBOTS_WRITE_WHY_EXAMPLE names a path (docs/plots/why-example.png).</summary>
    [Fact]
    public void The_docs_example_renders()
    {
        var picture = WhyPicture.Render(HandMadeEvidence.FloodWarning());
        if (Environment.GetEnvironmentVariable("GANBERTBOTS_WRITE_WHY_EXAMPLE") is { Length: > 0 } path) File.WriteAllBytes(path, picture.Png);
        Assert.True(picture.Png.Length > 1000);
    }
}
