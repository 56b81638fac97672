using SkiaSharp;

namespace GanBertBots.Conversation;

/// <summary>GLTR's four rank buckets (Gehrmann et al. 2019), plus the first token, which GPT-2 sees without context.</summary>
public enum RankBucket { NoContext, Top10, Top100, Top1000, Beyond }

/// <summary>Where one piece of a token was drawn (a token that wraps has one piece per line), in pixels of the PNG.</summary>
public readonly record struct TokenBox(int Token, RankBucket Bucket, float Left, float Top, float Right, float Bottom);

/// <summary>A rendered "Why?" picture: the PNG, where each token went, and how much of the text it shows.</summary>
public sealed record WhyPictureImage(byte[] Png, int Width, int Height, IReadOnlyList<TokenBox> Boxes, int TokensShown)
{
    /// <summary>The notes printed under the text ("… first 212 of 540 tokens shown.").</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>True when the text was too long for the picture and only its first <see cref="TokensShown"/> tokens are in it.</summary>
    public bool Cut { get; init; }
}

/// <summary>
/// The "Why?" picture of a text: its tokens laid out in wrapped lines, each on a background coloured by its GPT-2 rank
/// (GLTR's colours: green top 10, yellow top 100, red top 1000, purple beyond), each sentence starting a line with its
/// machine-likelihood as a bar in the left margin, and a legend. About 1000 px wide with 30 px text, so that a phone
/// showing it at its screen width still reads it.
/// <para>
/// Drawn with SkiaSharp, the canvas ScottPlot 5 is built on (ScottPlot is the project's served plotting library and brings
/// SkiaSharp with its native assets). ScottPlot's plot types have no flowing, wrapped text with a background per word, so
/// the layout is done here on SkiaSharp's canvas, in a sans-serif face; ScottPlot's font detection finds a font with the
/// glyphs of a token that face cannot show (emoji, other scripts).
/// </para>
/// </summary>
public static class WhyPicture
{
    public const int Width = 1000;
    /// <summary>Lines of text at most; a longer text is cut with a note saying how many tokens are shown.</summary>
    public const int MaxLines = 24;

    const float Pad = 28, TextSize = 32, LineHeight = 52, MarginWidth = 150, Gap = 18;
    const float TextLeft = Pad + MarginWidth + Gap, TextRight = Width - Pad;
    const float BarWidth = 84, BarHeight = 20;

    // GLTR's palette (light, so black text reads on every one).
    public static readonly SKColor Top10Colour = new(0xA8, 0xEE, 0x90);
    public static readonly SKColor Top100Colour = new(0xFF, 0xE5, 0x7A);
    public static readonly SKColor Top1000Colour = new(0xFF, 0x9E, 0x8C);
    public static readonly SKColor BeyondColour = new(0xD9, 0xAE, 0xFF);
    public static readonly SKColor NoContextColour = new(0xE4, 0xE4, 0xE4);
    static readonly SKColor Ink = new(0x1E, 0x1E, 0x1E), Quiet = new(0x66, 0x66, 0x66), BarColour = new(0x3D, 0x5A, 0x80), Track = new(0xE2, 0xE2, 0xE2);

    public static RankBucket BucketOf(int rank) => rank switch
    {
        <= 0 => RankBucket.NoContext,
        <= 10 => RankBucket.Top10,
        <= 100 => RankBucket.Top100,
        <= 1000 => RankBucket.Top1000,
        _ => RankBucket.Beyond,
    };

    public static SKColor ColourOf(RankBucket bucket) => bucket switch
    {
        RankBucket.Top10 => Top10Colour,
        RankBucket.Top100 => Top100Colour,
        RankBucket.Top1000 => Top1000Colour,
        RankBucket.Beyond => BeyondColour,
        _ => NoContextColour,
    };

    /// <summary>The picture of <paramref name="evidence"/> (which must be completed: it is what the picture shows).</summary>
    public static WhyPictureImage Render(TextEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        if (!evidence.IsCompleted) throw new ArgumentException($"no picture of evidence that was not computed ({evidence.Outcome}: {evidence.Message})", nameof(evidence));

        using var typeface = SansTypeface(SKFontStyle.Normal);
        using var bold = SansTypeface(SKFontStyle.Bold);
        using var textFont = new SKFont(typeface, TextSize);
        using var titleFont = new SKFont(bold, 34);
        using var noteFont = new SKFont(typeface, 26);
        using var smallFont = new SKFont(typeface, 23);

        // Header: title, then the zero-shot score when there is one.
        float y = Pad;
        var header = new List<(string Text, SKFont Font, SKColor Colour, float Baseline)>();
        header.Add(("Why? How GPT-2 read this text", titleFont, Ink, y + 34)); y += 50;
        if (!double.IsNaN(evidence.ZeroShotScore))
        {
            header.Add(($"Zero-shot score {evidence.ZeroShotScore:0.00} (Fast-DetectGPT: higher = more machine-like)", noteFont, Quiet, y + 26));
            y += 38;
        }
        header.Add(("machine-like", smallFont, Quiet, y + 22));
        y += 32;
        float textTop = y;

        var layout = LayOut(evidence, textFont);
        int lines = Math.Max(1, layout.Lines);
        y = textTop + lines * LineHeight + 8;
        var notes = new List<string>();
        if (layout.Cut) notes.Add($"… first {layout.TokensShown} of {evidence.Tokens.Count} tokens shown.");
        if (evidence.Truncated) notes.Add("GPT-2 read only the start of this text.");
        if (evidence.Tokens.Count == 0) notes.Add("(no tokens)");
        float notesTop = y;
        y += notes.Count * 36;

        float legendTop = y + 12;
        float height = legendTop + 16 + 32 + 18 + 34 + 44 + (evidence.ScorerVersion.Length > 0 ? 30 : 0) + Pad;
        int h = (int)Math.Ceiling(height);

        using var surface = SKSurface.Create(new SKImageInfo(Width, h, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not make a drawing surface");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var fill = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        using var ink = new SKPaint { IsAntialias = true, Color = Ink };

        foreach (var (text, font, colour, baseline) in header)
        {
            ink.Color = colour;
            DrawFitted(canvas, text, Pad, baseline, Width - 2 * Pad, font, ink);
        }

        // Tokens: background boxes first, then the text over them.
        var metrics = textFont.Metrics;
        var boxes = new List<TokenBox>();
        foreach (var piece in layout.Pieces)
        {
            float lineTop = textTop + piece.Line * LineHeight;
            var box = new TokenBox(piece.Token, piece.Bucket, piece.X, lineTop + 5, piece.X + piece.Width, lineTop + LineHeight - 5);
            boxes.Add(box);
            fill.Color = ColourOf(piece.Bucket);
            canvas.DrawRect(new SKRect(box.Left, box.Top, box.Right, box.Bottom), fill);
        }
        ink.Color = Ink;
        foreach (var piece in layout.Pieces)
        {
            float lineTop = textTop + piece.Line * LineHeight;
            float baseline = lineTop + (LineHeight - (metrics.Descent - metrics.Ascent)) / 2 - metrics.Ascent;
            using var font = FontFor(piece.Text, typeface, textFont);
            canvas.DrawText(piece.Text, piece.X, baseline, SKTextAlign.Left, font, ink);
        }

        // Sentence bars in the margin, beside each sentence's first line.
        foreach (var (line, likelihood) in layout.Bars)
        {
            float mid = textTop + line * LineHeight + LineHeight / 2;
            fill.Color = Track;
            canvas.DrawRect(new SKRect(Pad, mid - BarHeight / 2, Pad + BarWidth, mid + BarHeight / 2), fill);
            fill.Color = BarColour;
            canvas.DrawRect(new SKRect(Pad, mid - BarHeight / 2, Pad + (float)(BarWidth * likelihood), mid + BarHeight / 2), fill);
            ink.Color = Ink;
            canvas.DrawText($"{likelihood * 100:0}%", Pad + BarWidth + 8, mid + 8, SKTextAlign.Left, smallFont, ink);
        }

        ink.Color = Quiet;
        for (int i = 0; i < notes.Count; i++)
            DrawFitted(canvas, notes[i], TextLeft, notesTop + 28 + i * 36, TextRight - TextLeft, noteFont, ink);

        DrawLegend(canvas, legendTop, noteFont, smallFont, evidence.ScorerVersion);

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return new WhyPictureImage(data.ToArray(), Width, h, boxes, layout.TokensShown) { Cut = layout.Cut, Notes = notes };
    }

    static void DrawLegend(SKCanvas canvas, float top, SKFont font, SKFont small, string scorer)
    {
        using var line = new SKPaint { Color = Track, StrokeWidth = 2 };
        canvas.DrawLine(Pad, top, Width - Pad, top, line);
        using var ink = new SKPaint { IsAntialias = true, Color = Quiet };
        float y = top + 16 + 24;
        DrawFitted(canvas, "Colour: how high GPT-2 ranked each word among its guesses", Pad, y, Width - 2 * Pad, font, ink);
        y += 18;
        (RankBucket Bucket, string Label)[] keys =
            [(RankBucket.Top10, "top 10"), (RankBucket.Top100, "top 100"), (RankBucket.Top1000, "top 1000"), (RankBucket.Beyond, "beyond"),
             (RankBucket.NoContext, "first word")];
        float cell = (Width - 2 * Pad) / keys.Length;
        using var fill = new SKPaint { Style = SKPaintStyle.Fill };
        ink.Color = Ink;
        for (int i = 0; i < keys.Length; i++)
        {
            float x = Pad + i * cell;
            fill.Color = ColourOf(keys[i].Bucket);
            canvas.DrawRect(new SKRect(x, y, x + 34, y + 34), fill);
            canvas.DrawText(keys[i].Label, x + 42, y + 27, SKTextAlign.Left, font, ink);
        }
        y += 34 + 40;
        ink.Color = Quiet;
        DrawFitted(canvas, "Bar: how machine-made each sentence reads (0-100%)", Pad, y, Width - 2 * Pad, font, ink);
        if (scorer.Length > 0) DrawFitted(canvas, $"Scored by GPT-2 {scorer}", Pad, y + 32, Width - 2 * Pad, small, ink);
    }

    /// <summary>
    /// A sans-serif face, which reads best small on a phone: the first installed of a few common families, else the one
    /// ScottPlot picks for its own sans-serif text.
    /// </summary>
    static SKTypeface SansTypeface(SKFontStyle style)
    {
        foreach (string family in new[] { "DejaVu Sans", "Noto Sans", "Liberation Sans", "Arial", "Helvetica", "Segoe UI" })
            if (SKFontManager.Default.MatchFamily(family, style) is { } face) return face;
        return ScottPlot.Fonts.GetTypeface(ScottPlot.Fonts.Sans, style.Weight >= (int)SKFontStyleWeight.Bold, false);
    }

    /// <summary>Draws one line of text, smaller if it would run past <paramref name="maxWidth"/>.</summary>
    static void DrawFitted(SKCanvas canvas, string text, float x, float baseline, float maxWidth, SKFont font, SKPaint paint)
    {
        float width = font.MeasureText(text);
        if (width <= maxWidth) { canvas.DrawText(text, x, baseline, SKTextAlign.Left, font, paint); return; }
        using var smaller = new SKFont(font.Typeface, font.Size * maxWidth / width);
        canvas.DrawText(text, x, baseline, SKTextAlign.Left, smaller, paint);
    }

    /// <summary>The text font, or one that has the token's glyphs when it lacks some.</summary>
    static SKFont FontFor(string text, SKTypeface typeface, SKFont textFont)
    {
        if (textFont.ContainsGlyphs(text)) return new SKFont(typeface, TextSize);
        return new SKFont(ScottPlot.Fonts.GetTypeface(ScottPlot.Fonts.Detect(text), false, false), TextSize);
    }

    sealed record Piece(int Token, RankBucket Bucket, string Text, int Line, float X, float Width);

    sealed record Layout(List<Piece> Pieces, List<(int Line, double Likelihood)> Bars, int Lines, int TokensShown, bool Cut);

    /// <summary>
    /// Wraps the tokens into lines of the text column: a token goes to the next line when it does not fit (its leading
    /// space dropped there), a newline in a token breaks the line, a token wider than the column is split, and each
    /// sentence starts a new line so its bar sits beside it. Stops after <see cref="MaxLines"/> lines.
    /// </summary>
    static Layout LayOut(TextEvidence evidence, SKFont font)
    {
        var pieces = new List<Piece>();
        var bars = new List<(int, double)>();
        var sentenceAt = new Dictionary<int, double>();
        foreach (var s in evidence.Sentences)
            if (s.FirstToken >= 0 && s.FirstToken < evidence.Tokens.Count && !double.IsNaN(s.MachineLikelihood))
                sentenceAt[s.FirstToken] = Math.Clamp(s.MachineLikelihood, 0, 1);

        int line = 0;
        float x = TextLeft;
        bool lineEmpty = true;
        bool NewLine()
        {
            if (line + 1 >= MaxLines) return false;
            line++; x = TextLeft; lineEmpty = true;
            return true;
        }

        for (int i = 0; i < evidence.Tokens.Count; i++)
        {
            var token = evidence.Tokens[i];
            var bucket = BucketOf(token.Rank);
            if (sentenceAt.TryGetValue(i, out double likelihood))
            {
                if (!lineEmpty && !NewLine()) return new(pieces, bars, line + 1, i, true);
                bars.Add((line, likelihood));
            }
            string[] parts = token.Text.Replace("\r", "").Replace('\t', ' ').Split('\n');
            for (int p = 0; p < parts.Length; p++)
            {
                if (p > 0 && !NewLine()) return new(pieces, bars, line + 1, i, true);
                string part = parts[p];
                string word = part.TrimStart(' ');
                string lead = part[..(part.Length - word.Length)];
                word = word.TrimEnd(' ');
                float leadWidth = lineEmpty ? 0 : font.MeasureText(lead);
                if (word.Length == 0) { x += leadWidth; continue; }
                float width = font.MeasureText(word);
                if (x + leadWidth + width > TextRight && !lineEmpty)
                {
                    if (!NewLine()) return new(pieces, bars, line + 1, i, true);
                    leadWidth = 0;
                }
                x += leadWidth;
                // A token wider than the whole column: split it where it reaches the edge.
                while (x + width > TextRight && word.Length > 1)
                {
                    int fit = Math.Max(1, (int)font.BreakText(word, TextRight - x));
                    string head = word[..fit];
                    float headWidth = font.MeasureText(head);
                    pieces.Add(new Piece(i, bucket, head, line, x, headWidth));
                    word = word[fit..];
                    width = font.MeasureText(word);
                    if (!NewLine()) return new(pieces, bars, line + 1, i, true);
                }
                pieces.Add(new Piece(i, bucket, word, line, x, width));
                x += width;
                lineEmpty = false;
            }
        }
        return new(pieces, bars, line + 1, evidence.Tokens.Count, false);
    }
}
