using System.Text.Json.Nodes;
using GanBertBots.Host.Cli;
using GanBertBots.Models.GanBert;

namespace GanBertBots.Tests.Detector;

public sealed class DetectorCliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("detector-cli").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Detect_json_has_exactly_the_documented_shape_and_agrees_with_the_api()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var (network, config, tokenizer) = SyntheticDetector.Untrained(vocab, seed: 21);
        string model = Path.Combine(_dir, "model");
        DetectorCheckpoint.Save(model, config, network, vocab);
        network.Dispose();
        string file = Path.Combine(_dir, "texts.txt");
        File.WriteAllLines(file, ["apple river", "", "vector neural robot"]);

        var output = new StringWriter();
        var error = new StringWriter();
        int code = await CliApp.RunAsync(["detect", "--model", model, "--file", file, "--json"], output, error);
        Assert.True(code == 0, error.ToString());
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length); // the blank line is skipped
        using var detector = GanBertDetector.Load(model, GanBertBots.Models.Runtime.TorchPlacement.Cpu);
        var expected = detector.Detect(["apple river", "vector neural robot"]);
        for (int i = 0; i < 2; i++)
        {
            var o = JsonNode.Parse(lines[i])!.AsObject();
            Assert.Equal(["label", "probabilities", "real_or_fake", "truncated", "model_version"], o.Select(p => p.Key));
            Assert.Equal(expected[i].Label, o["label"]!.GetValue<string>());
            Assert.Equal(["human", "gpt2", "dolly"], o["probabilities"]!.AsObject().Select(p => p.Key));
            Assert.Equal(expected[i].Probabilities["gpt2"], o["probabilities"]!["gpt2"]!.GetValue<double>(), 12);
            Assert.Equal(["real", "fake"], o["real_or_fake"]!.AsObject().Select(p => p.Key));
            Assert.Equal(expected[i].Real!.Value, o["real_or_fake"]!["real"]!.GetValue<double>(), 12);
            Assert.False(o["truncated"]!.GetValue<bool>());
            Assert.Equal("test-1", o["model_version"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Detect_on_a_missing_model_is_a_clear_error()
    {
        var error = new StringWriter();
        int code = await CliApp.RunAsync(["detect", "--model", Path.Combine(_dir, "nope"), "--text", "hi"], new StringWriter(), error);
        Assert.Equal(1, code);
        Assert.Contains("detector directory not found", error.ToString());
    }
}
