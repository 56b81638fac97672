using System.Text.Json.Nodes;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;

namespace GanBertBots.Host.Cli;

/// <summary><c>detect</c>: which model wrote a text, and real or fake, from a trained detector directory.</summary>
public sealed class DetectVerb : ICliVerb
{
    public string Name => "detect";
    public string Summary => "ask a trained GAN-BERT detector who wrote texts";
    public string Usage => """
        Usage: ganbertbots detect [--model DIR] (--text TEXT | --file FILE | TEXT...) [--json] [--explain] [--batch-size N] [--device auto|cpu|cuda]
          --model DIR     a trained detector (config.json, model.safetensors, vocab.txt); default Models:Detector
          --text TEXT     one text; or give texts as positional words, one per argument
          --file FILE     many texts, one per line ('-' reads standard input); answered in batches
          --json          one JSON object per text: {"label":...,"probabilities":{...},"real_or_fake":{"real":..,"fake":..},"truncated":..,"model_version":..}
          --explain       add the tokens that pushed the answer towards "machine" (gradient x input)
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "json", "explain");
        string model = a.Get("model") ?? context.Configuration[$"{Serving.ModelsOptions.Section}:Detector"] ?? new Serving.ModelsOptions().Detector;
        bool json = a.Flag("json"), explain = a.Flag("explain");
        int batch = a.GetInt("batch-size", 32);
        var texts = new List<string>();
        if (a.Get("text") is { } one) texts.Add(one);
        if (a.Get("file") is { } file)
        {
            var lines = file == "-" ? ReadAll(Console.In) : File.Exists(file) ? File.ReadAllLines(file)
                : throw new CliUsageException($"--file {file}: file not found");
            texts.AddRange(lines.Where(l => !string.IsNullOrWhiteSpace(l)));
        }
        texts.AddRange(a.Positional);
        var placement = TorchPlacement.Resolve(a.Get("device") ?? "auto");
        a.RejectUnknown();
        if (texts.Count == 0) throw new CliUsageException("no text given (--text, --file or positional texts)");
        if (batch < 1) throw new CliUsageException("--batch-size must be at least 1");

        using var detector = GanBertDetector.Load(model, placement, batch, HubSettings.EncoderFolders(context.Configuration).Directories);
        var results = explain ? texts.Select(t => detector.Explain(t)).ToList() : detector.Detect(texts);
        for (int i = 0; i < texts.Count; i++)
        {
            var r = results[i];
            if (json) await context.Out.WriteLineAsync(ToJson(r).ToJsonString());
            else
            {
                if (texts.Count > 1) await context.Out.WriteLineAsync($"[{i + 1}] {Preview(texts[i])}");
                await context.Out.WriteLineAsync($"  label: {r.Label}" + (r.Real is { } real ? $"   real {real:P1} / fake {r.Fake:P1}" : "") + (r.Truncated ? "   (text truncated)" : ""));
                await context.Out.WriteLineAsync("  " + string.Join("  ", r.Probabilities.Select(p => $"{p.Key} {p.Value:P1}")));
                if (r.Explanation is { } ex)
                    await context.Out.WriteLineAsync("  towards machine: " + string.Join(", ", ex.Select(t => $"{t.Token} ({t.Score:+0.000;-0.000})")));
                await context.Out.WriteLineAsync($"  model {r.ModelVersion}");
            }
        }
        return 0;
    }

    static string[] ReadAll(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines.ToArray();
    }

    static string Preview(string text) => text.Length <= 70 ? text : text[..67] + "...";

    /// <summary>The answer as the JSON the bots and scripts read.</summary>
    public static JsonObject ToJson(DetectionResult r)
    {
        var probabilities = new JsonObject();
        foreach (var (c, p) in r.Probabilities) probabilities[c] = p;
        var o = new JsonObject
        {
            ["label"] = r.Label,
            ["probabilities"] = probabilities,
            ["real_or_fake"] = r.Real is { } real ? new JsonObject { ["real"] = real, ["fake"] = r.Fake } : null,
            ["truncated"] = r.Truncated,
            ["model_version"] = r.ModelVersion,
        };
        if (r.Explanation is { } ex)
            o["explanation"] = new JsonArray(ex.Select(t => (JsonNode)new JsonObject { ["token"] = t.Token, ["score"] = t.Score }).ToArray());
        return o;
    }
}
