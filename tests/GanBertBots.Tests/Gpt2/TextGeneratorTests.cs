using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Tests.Support;

namespace GanBertBots.Tests.Gpt2;

public class TextGeneratorTests
{
    static TextGenerator Create(long seed = 5)
    {
        var tokenizer = Gpt2Tokenizer.Load(SharedData.Require("gpt2-tokenizer"));
        var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 50257, layers: 2, embd: 16, heads: 2, positions: 128) with
        { EosTokenId = 50256, BosTokenId = 50256 }, seed);
        return new TextGenerator(model, tokenizer, TorchPlacement.Cpu, "test-model");
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public void Completion_text_is_the_decoded_ids_and_streaming_text_grows_to_it()
    {
        using var gen = Create();
        var events = new List<TokenEvent>();
        var o = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 25, Seed = 3, StopAtEndOfText = false };
        var result = gen.Generate(new[] { "The river burst its banks", "Fire" }, o, events.Add);
        for (int r = 0; r < 2; r++)
        {
            Assert.Equal(gen.Tokenizer.Decode(result[r].GeneratedIds), result[r].Text);
            var mine = events.Where(e => e.SequenceIndex == r).Select(e => e.TextSoFar).ToList();
            Assert.Equal(result[r].GeneratedIds.Length, mine.Count);
            for (int i = 1; i < mine.Count; i++) Assert.StartsWith(mine[i - 1], mine[i]);
            Assert.StartsWith(mine[^1], result[r].Text);
        }
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public void Stop_sequence_ends_generation_and_is_cut_from_the_text()
    {
        using var gen = Create();
        var o = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 40, Seed = 11, StopAtEndOfText = false };
        var free = gen.Generate(new[] { "Storm" }, o)[0];
        // Take a piece of the free text as the stop sequence: the run must end there, cut before it.
        string text = free.Text;
        Assert.True(text.Length > 12, $"free text too short: '{text}'");
        string stop = text.Substring(8, 3);
        var stopped = gen.Generate(new[] { "Storm" }, o with { StopSequences = new[] { stop } })[0];
        Assert.Equal(FinishReason.StopSequence, stopped.FinishReason);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.True(stopped.GeneratedIds.Length < free.GeneratedIds.Length);
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public void Tweet_preset_gives_at_most_280_characters_and_same_seed_same_tweet()
    {
        using var gen = Create();
        var prompt = TweetComposer.Compose("earthquake");
        Assert.Equal("earthquake:", prompt.PromptText);
        var o = TweetComposer.DefaultOptions with { Seed = 21, MaxNewTokens = 120, StopSequences = Array.Empty<string>() };
        string Tweet() => TweetComposer.Finish(prompt, gen.Generate(new[] { prompt.PromptText }, o, prependEndOfText: true)[0].Text);
        string a = Tweet(), b = Tweet();
        Assert.Equal(a, b);
        Assert.InRange(a.Length, 1, 280);
        Assert.DoesNotContain("\n", a);
    }

    [Fact]
    public void Tweets_are_cut_cleanly()
    {
        string words = string.Join(" ", Enumerable.Repeat("flood", 80));   // 479 chars
        string cut = TweetComposer.Cut(words, 280);
        Assert.True(cut.Length <= 280);
        Assert.EndsWith("flood…", cut);                                   // whole words, then an ellipsis
        string sentences = string.Join(" ", Enumerable.Repeat("Roads are closed.", 30));
        string cutS = TweetComposer.Cut(sentences, 280);
        Assert.EndsWith("closed.", cutS);
        Assert.True(cutS.Length <= 280);
        string emoji = string.Concat(Enumerable.Repeat("🔥", 200));       // surrogate pairs stay whole
        string cutE = TweetComposer.Cut(emoji, 280);
        Assert.True(cutE.Length <= 280);
        Assert.DoesNotContain('\uFFFD', cutE);
        Assert.True(char.IsSurrogatePair(cutE[^3], cutE[^2]));
        Assert.Equal("short tweet", TweetComposer.Cut("short tweet", 280));
    }

    [Fact]
    public void Free_prompts_start_the_tweet_and_keywords_do_not()
    {
        var free = TweetComposer.Compose("  Flooding   on Main St ");
        Assert.Equal("Flooding on Main St", free.PromptText);
        Assert.Equal("Flooding on Main St, stay safe!", TweetComposer.Finish(free, ", stay safe!"));
        Assert.Equal("Flooding on Main St again", TweetComposer.Finish(free, " again\n"));
        var keyword = TweetComposer.Compose("#Wild_Fires");
        Assert.Equal("wild fires:", keyword.PromptText);
        Assert.Equal("Smoke everywhere", TweetComposer.Finish(keyword, " Smoke   everywhere "));
        Assert.Equal("wild fires: Smoke", TweetComposer.TrainingText("wild_fires", "Smoke"));
        Assert.Throws<ArgumentException>(() => TweetComposer.Compose(new string('a', 150) + " " + new string('b', 100)));
    }
}
