using System.Security.Cryptography;
using GanBertBots.Training.Registry;

namespace GanBertBots.Tests.Retraining;

/// <summary><c>models register NAME DIR [--promote] [--notes TEXT]</c>: how an operator seeds the registry.</summary>
public sealed class ModelsRegisterTests : IDisposable
{
    readonly Hub.ScratchDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    string Registry => Path.Combine(_dir.Path, "registry");

    Task<(int Code, string Out, string Error)> Run(params string[] args) => CliRun.RunAsync(new Dictionary<string, string?> { ["Retraining:RegistryRoot"] = Registry }, args);

    static string Sha(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>What the registry holds for a model, staging folders included (nothing may be left half-copied).</summary>
    string[] Entries(string name) => Directory.Exists(Path.Combine(Registry, name))
        ? Directory.GetFileSystemEntries(Path.Combine(Registry, name)).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToArray()
        : [];

    [Fact]
    public async Task A_generator_and_a_detector_are_registered_byte_for_byte_and_promoted()
    {
        string gen = TinyRoundModels.Generator(Path.Combine(_dir.Path, "gen"), seed: 3);
        string det = TinyRoundModels.Detector(Path.Combine(_dir.Path, "det"), ["a flood downtown", "fire on the hill"]);

        var (code, output, error) = await Run("models", "register", "generator", gen, "--promote", "--notes", "first generator");
        Assert.True(code == 0, error);
        Assert.Contains($"generator v0001 registered from {gen} (", output);
        Assert.Contains("generator: none -> v0001 is live", output);
        (code, output, error) = await Run("models", "register", "detector", det, "--promote");
        Assert.True(code == 0, error);
        Assert.Contains("detector: none -> v0001 is live", output);
        (code, output, error) = await Run("models", "register", "generator", gen);
        Assert.True(code == 0, error);
        Assert.Contains("generator v0002 registered", output);
        Assert.DoesNotContain("is live", output);

        var registry = new ModelRegistry(Registry, CheckpointValidators.Default().Validator);
        var live = registry.Live("generator")!;
        Assert.Equal(("v0001", "first generator"), (live.Version, live.Notes));
        Assert.StartsWith("models register ", live.Source);
        Assert.Equal(["v0001", "v0002"], registry.Versions("generator").Select(v => v.Version));
        foreach (string file in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt" })
            Assert.Equal(Sha(Path.Combine(gen, file)), Sha(Path.Combine(live.Directory, file)));
        var detector = registry.Live("detector")!;
        foreach (string file in new[] { "config.json", "model.safetensors", "vocab.txt" })
            Assert.Equal(Sha(Path.Combine(det, file)), Sha(Path.Combine(detector.Directory, file)));
        registry.Verify(live);
        registry.Verify(detector);

        (code, output, _) = await Run("models", "versions");
        Assert.Equal(0, code);
        Assert.Contains("* generator    v0001", output);
        Assert.Contains("* detector     v0001", output);
    }

    [Fact]
    public async Task A_checkpoint_that_does_not_load_is_refused_and_nothing_appears_in_the_registry()
    {
        string gen = TinyRoundModels.Generator(Path.Combine(_dir.Path, "gen"), seed: 3);
        string weights = Path.Combine(gen, "model.safetensors");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..100]);

        var (code, output, error) = await Run("models", "register", "generator", gen, "--promote");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains($"models register: generator checkpoint in '{gen}' cannot be registered: it does not load", error);
        Assert.DoesNotContain(".staging", error);
        Assert.Empty(Entries("generator"));

        // A detector is loaded too: weights cut short, or a vocabulary that does not match the encoder, are refused.
        string det = TinyRoundModels.Detector(Path.Combine(_dir.Path, "det"), ["a flood downtown"]);
        string detWeights = Path.Combine(det, "model.safetensors");
        byte[] intact = File.ReadAllBytes(detWeights);
        File.WriteAllBytes(detWeights, intact[..(intact.Length - 64)]);
        (code, _, error) = await Run("models", "register", "detector", det, "--promote");
        Assert.Equal(1, code);
        Assert.Contains($"models register: detector checkpoint in '{det}' cannot be registered: it does not load", error);
        File.WriteAllBytes(detWeights, intact);
        File.AppendAllLines(Path.Combine(det, "vocab.txt"), ["extra"]);
        (code, _, error) = await Run("models", "register", "detector", det);
        Assert.Equal(1, code);
        Assert.Contains("vocab.txt has", error);
        Assert.Empty(Entries("detector"));

        (code, _, error) = await Run("models", "register", "generator", Path.Combine(_dir.Path, "no-such-folder"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", error);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "empty"));
        (code, _, error) = await Run("models", "register", "generator", Path.Combine(_dir.Path, "empty"));
        Assert.Equal(1, code);
        Assert.Contains("is empty", error);
        Assert.Empty(Entries("generator"));

        Assert.Equal(2, (await Run("models", "register", "generator")).Code);               // no DIR: usage
        Assert.Equal(2, (await Run("models", "register", "generator", gen, "--colour", "red")).Code);
        (code, _, error) = await Run("models", "register", "Generator!", gen);
        Assert.Equal(1, code);
        Assert.Contains("models register: ", error);
        Assert.False(Directory.Exists(Path.Combine(Registry, "Generator!")));
        Assert.Empty(Entries("generator"));
    }
}
