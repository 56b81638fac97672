using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Tests.Detector;

namespace GanBertBots.Tests.Bots;

/// <summary>The inference service with a real (tiny, untrained) GAN-BERT detector behind it.</summary>
public sealed class RealDetectorServiceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("detsvc").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public async Task Requests_merged_into_one_batch_get_what_the_detector_says_for_each_alone()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 21);
        var detector = GanBertDetector.FromNetwork(network, config, tokenizer, TorchPlacement.Cpu, batchSize: 8);
        var texts = SyntheticDetector.Rows(6, seed: 4).Select(r => r.Text).ToList();
        var direct = texts.Select(t => detector.Detect(t)).ToList();

        var options = new InferenceOptions { Detection = { MaxBatchSize = 16, MaxWaitMs = 1000 } };
        using var service = new InferenceService(options, detector: new GanBertDetectorModel(detector));
        var sizes = new List<int>();
        service.BatchCompleted += r => { lock (sizes) sizes.Add(r.Size); };
        var verdicts = await Task.WhenAll(texts.Select(t => service.DetectAsync(t)));

        Assert.Equal([texts.Count], sizes);
        for (int i = 0; i < texts.Count; i++)
        {
            var v = verdicts[i];
            Assert.Equal(InferenceOutcome.Completed, v.Outcome);
            Assert.Equal(direct[i].Label, v.Label);
            Assert.Equal(direct[i].Real!.Value, v.RealProbability, 5);
            Assert.Equal(config.Classes.Count, v.Probabilities.Count);
            Assert.True(v.Probabilities.Zip(v.Probabilities.Skip(1)).All(p => p.First.Probability >= p.Second.Probability), "most likely first");
            foreach (var p in v.Probabilities) Assert.Equal(direct[i].Probabilities[p.Label], p.Probability, 5);
            Assert.Equal(detector.ModelVersion, v.ModelVersion);
        }
    }
}
