using System.Text.Json.Nodes;
using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Tests.Detector;

namespace GanBertBots.Tests.Bots;

/// <summary>The inference service with a real (untrained, synthetic-vocabulary) GAN-BERT detector behind it.</summary>
// Builds two networks from one seed of torch's global generator: they are equal only if no other test draws from it meanwhile.
[Collection(TorchRandomSequence.Name)]
public sealed class GanBertDetectorServiceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("detector-service").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("""{"split":"held-out","texts":200,"accuracy":0.8,"macro_f1":0.444,"majority_class":"chatGPT","majority_accuracy":0.8,"majority_macro_f1":0.444,"margin":0.05,"passed":false,"forced":true}""",
        "held-out macro-F1 0.44 (majority baseline 0.44), accuracy 0.80 on 200 texts; let through with --force", true)]
    [InlineData("""{"split":"validation","texts":50,"accuracy":0.64,"macro_f1":0.61,"majority_class":"human","majority_accuracy":0.2,"majority_macro_f1":0.07,"margin":0.05,"passed":true}""",
        "validation macro-F1 0.61 (majority baseline 0.07), accuracy 0.64 on 50 texts", false)]
    // Written by something else: no figures, not failed, and no exception on the detection path.
    [InlineData("""{"split":"held-out","texts":"many","accuracy":0.8,"macro_f1":0.4,"majority_macro_f1":0.4,"passed":"no"}""", null, false)]
    [InlineData("""{"texts":50,"accuracy":0.64,"macro_f1":0.61,"majority_class":"human","majority_accuracy":0.2,"majority_macro_f1":0.07,"margin":0.05,"passed":false}""", null, false)]
    [InlineData("""[1, 2]""", null, false)]
    public void The_served_detector_reads_its_gate_once_and_tolerates_a_foreign_one(string gate, string? figures, bool failed)
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 13);
        config = config with { Training = new JsonObject { ["gate"] = JsonNode.Parse(gate) } };
        using var served = new GanBertDetectorModel(GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu));
        Assert.Equal(figures, served.HeldOutFigures);
        Assert.Equal(failed, served.FailedGate);
    }

    [Fact]
    public async Task Concurrent_detections_share_a_batch_and_equal_the_detector_asked_directly()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 12);
        using var reference = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu, batchSize: 1);
        var (network2, config2, tokenizer2) = SyntheticDetector.Untrained(vocab, seed: 12);
        var served = new GanBertDetectorModel(GanBertDetector.FromNetwork(network2, config2, tokenizer2, TorchPlacement.Cpu));
        using var service = new InferenceService(new InferenceOptions { Detection = { MaxBatchSize = 16, MaxWaitMs = 1000 } }, detector: served);
        var sizes = new List<int>();
        service.BatchCompleted += r => { lock (sizes) sizes.Add(r.Size); };

        var texts = SyntheticDetector.Rows(6, seed: 3).Select(r => r.Text).ToList();
        var verdicts = await Task.WhenAll(texts.Select(t => service.DetectAsync(t)));
        Assert.Equal([texts.Count], sizes);
        for (int i = 0; i < texts.Count; i++)
        {
            var direct = reference.Detect(texts[i]);
            Assert.Equal(InferenceOutcome.Completed, verdicts[i].Outcome);
            Assert.Equal(direct.Label, verdicts[i].Label);
            Assert.Equal(verdicts[i].Label, verdicts[i].Probabilities[0].Label);
            foreach (var p in verdicts[i].Probabilities) Assert.Equal(direct.Probabilities[p.Label], p.Probability, 6);
            Assert.Equal(direct.Real ?? double.NaN, verdicts[i].RealProbability, 6);
            Assert.Equal(config.ModelVersion, verdicts[i].ModelVersion);
        }
        Assert.Equal(config.Classes, service.DetectorClasses);
    }
}
