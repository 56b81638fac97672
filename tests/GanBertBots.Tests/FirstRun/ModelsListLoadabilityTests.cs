using GanBertBots.Models.GanBert;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Tests.Hub;
using static GanBertBots.Tests.FirstRun.FirstRunFiles;

namespace GanBertBots.Tests.FirstRun;

/// <summary><c>models list</c> says "ok" exactly for the folders the loaders load.</summary>
public sealed class ModelsListLoadabilityTests : IDisposable
{
    readonly ScratchDirectory _models = new();
    public void Dispose() => _models.Dispose();

    /// <summary>A tiny GPT-2 whose tokenizer is in the OpenAI release layout (encoder.json + vocab.bpe), as train-generator copies it from ../shared/data/gpt2-tokenizer.</summary>
    string Gpt2InReleaseLayout(string name)
    {
        string dir = Path.Combine(_models.Path, name);
        using (var model = TinyGpt2.Create(TinyGpt2.Config(vocab: 259))) Gpt2Checkpoint.Save(model, dir);
        ByteTokenizer.Write(dir);
        File.Move(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "encoder.json"));
        File.Move(Path.Combine(dir, "merges.txt"), Path.Combine(dir, "vocab.bpe"));
        return dir;
    }

    [Fact]
    public async Task A_gpt2_with_encoder_json_and_vocab_bpe_is_ok_and_loads()
    {
        string dir = Gpt2InReleaseLayout("gpt2");

        var (code, output, err) = await Cli("models", "list", "--dest", _models.Path);

        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^gpt2\s+gpt2\s+\S+ \S+\s+ok\s*$", output);
        using var generator = TextGenerator.Load(dir); // the loader agrees
        Assert.Equal(258, generator.Tokenizer.EndOfTextId);
    }

    [Fact]
    public async Task A_gpt2_missing_half_of_a_tokenizer_pair_is_not_ok_and_the_loader_refuses_it_too()
    {
        string dir = Gpt2InReleaseLayout("half");
        File.Delete(Path.Combine(dir, "vocab.bpe"));

        var (code, output, err) = await Cli("models", "list", "--dest", _models.Path);

        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^half\s+gpt2\s+.*missing vocab\.bpe\s*$", output);
        Assert.Throws<GanBertBots.Models.CheckpointException>(() => TextGenerator.Load(dir));
    }

    [Fact]
    public async Task A_detector_checkpoint_is_ok_and_a_broken_one_says_why()
    {
        string vocab = SyntheticDetector.WriteVocab(_models.Path);
        var (network, config, _) = SyntheticDetector.Untrained(vocab, seed: 3);
        using (network)
        {
            DetectorCheckpoint.Save(Path.Combine(_models.Path, "detector"), config, network, vocab);
            DetectorCheckpoint.Save(Path.Combine(_models.Path, "noweights"), config, network, vocab);
        }
        File.Delete(Path.Combine(_models.Path, "noweights", DetectorCheckpoint.WeightsFile));

        var (code, output, err) = await Cli("models", "list", "--dest", _models.Path);

        Assert.True(code == 0, err);
        Assert.Matches(@"(?m)^detector\s+detector\s+\S+ \S+\s+ok\s*$", output);
        Assert.Matches(@"(?m)^noweights\s+detector\s+.*missing model\.safetensors\s*$", output);
        using var loaded = GanBertDetector.Load(Path.Combine(_models.Path, "detector"), GanBertBots.Models.Runtime.TorchPlacement.Cpu);
    }
}
