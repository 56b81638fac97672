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
