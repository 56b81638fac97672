using GanBertBots.Inference;
using System.Text.Json;
using System.Text.Json.Nodes;
using GanBertBots.Models;
using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;

namespace GanBertBots.Host.Cli;

/// <summary><c>generate</c>: continue a prompt with a GPT-2 checkpoint.</summary>
public sealed class GenerateVerb : ICliVerb
{
    public string Name => "generate";
    public string Summary => "Continue a prompt (or write a tweet) with a GPT-2 checkpoint";
    public string Usage => """
        Usage: ganbertbots generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [options]
          --model DIR               checkpoint folder: config.json, model.safetensors, vocab.json + merges.txt
                                    (with --prompt-ids, config.json and the weights are enough)
          --prompt TEXT             text to continue
          --prompt-ids IDS          comma-separated token ids to continue
          --tweet                   treat --prompt as a keyword or tweet start and print a finished tweet (<= 280 chars)
          --max-new-tokens N        tokens to add (default 50; 70 with --tweet)
          --temperature T           0 = greedy (default 1.0; 0.9 with --tweet)
          --top-k K  --top-p P      sampling filters (default off; 50 and 0.95 with --tweet)
          --repetition-penalty R    e.g. 1.2 (default 1.0)
          --num-beams B             beam search with B beams
          --num-return N            completions per prompt
          --stop TEXT               stop sequence (cut from the output)
          --seed S                  same seed, same text
          --device auto|cpu|cuda    --dtype auto|float32|float16|bfloat16
          --json                    print {"completions":[{"text":...,"prompt_ids":[...],"generated_ids":[...]}]}
        """;

    public Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "json", "tweet");
        string dir = a.Require("model");
        string? prompt = a.Get("prompt");
        string? promptIds = a.Get("prompt-ids");
        if ((prompt is null) == (promptIds is null)) throw new CliUsageException("give exactly one of --prompt and --prompt-ids");
        bool tweet = a.Flag("tweet");
        if (tweet && prompt is null) throw new CliUsageException("--tweet needs --prompt (a keyword or the start of the tweet)");
        bool json = a.Flag("json");

        var defaults = tweet ? TweetComposer.DefaultOptions : new GenerationOptions { Temperature = 1.0 };
        string? stop = a.Get("stop");
        var options = defaults with
        {
            MaxNewTokens = a.GetInt("max-new-tokens", defaults.MaxNewTokens),
            Temperature = a.GetDouble("temperature", defaults.Temperature),
            TopK = a.GetInt("top-k", defaults.TopK),
            TopP = a.GetDouble("top-p", defaults.TopP),
            RepetitionPenalty = a.GetDouble("repetition-penalty", defaults.RepetitionPenalty),
            NumBeams = a.GetInt("num-beams", 1),
            NumReturnSequences = a.GetInt("num-return", 1),
            Seed = a.GetLongOrNull("seed"),
            StopSequences = stop is null ? defaults.StopSequences : new[] { stop },
        };
        var placement = TorchPlacement.Resolve(a.Get("device"), a.Get("dtype"));
        a.RejectUnknown();
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliUsageException(e.Message); }

        IReadOnlyList<Completion> completions;
        Gpt2Tokenizer? tokenizer = null;
        if (promptIds is not null)
        {
            int[] ids = ParseIds(promptIds);
            // Token ids need no tokenizer; decode the output only if one is there.
            if (HasTokenizerFiles(dir)) tokenizer = Gpt2Tokenizer.Load(dir);
            using var model = Gpt2Checkpoint.Load(dir, placement);
            using var generator = new Gpt2Generator(model);
            completions = Run(() => generator.Generate(new[] { ids }, options, cancellation: context.Cancellation))
                .Select(s => new Completion(s.PromptIndex,
                    tokenizer is null ? "" : TextGenerator.CutAtStop(tokenizer.Decode(s.GeneratedIds.Where(t => t != tokenizer.EndOfTextId)), options.StopSequences),
                    s.PromptIds, s.GeneratedIds, s.FinishReason, s.Score))
                .ToList();
        }
        else
        {
            using var generator = TextGenerator.Load(dir, placement);
            tokenizer = generator.Tokenizer;
            var tweetPrompt = tweet ? TweetComposer.Compose(prompt) : null;
            string text = tweetPrompt?.PromptText ?? prompt!;
            // On a terminal, a single completion is shown as it is written.
            bool stream = !json && context.Interactive && options.NumBeams == 1 && options.NumReturnSequences == 1 && !tweet;
            int shown = 0;
            if (stream) context.Out.Write(text);
            completions = Run(() => generator.Generate(new[] { text }, options, stream ? e =>
            {
                context.Out.Write(e.TextSoFar[shown..]);
                shown = e.TextSoFar.Length;
            } : null, context.Cancellation, prependEndOfText: tweet));
            if (tweetPrompt is not null)
            {
                completions = completions.Select(c => c with { Text = TweetComposer.Finish(tweetPrompt, c.Text) }).ToList();
                // A tweet is never empty: an empty one is sampled again, as the service does (Gpt2TweetModel.MaxResamples
                // times; with --seed the retry seeds are fixed too, so the same command prints the same tweets).
                for (int attempt = 1; attempt <= Gpt2TweetModel.MaxResamples && completions.Any(c => string.IsNullOrWhiteSpace(c.Text)); attempt++)
                {
                    completions = completions.Select((c, j) =>
                    {
                        if (!string.IsNullOrWhiteSpace(c.Text)) return c;
                        var retry = options with { NumReturnSequences = 1, NumBeams = 1, Seed = options.Seed is { } seed ? seed + 1000L * attempt + j : null };
                        var again = Run(() => generator.Generate(new[] { text }, retry, null, context.Cancellation, prependEndOfText: true))[0];
                        return again with { Text = TweetComposer.Finish(tweetPrompt, again.Text) };
                    }).ToList();
                }
                if (completions.Any(c => string.IsNullOrWhiteSpace(c.Text)))
                    context.Error.WriteLine($"generate: the model wrote an empty tweet {Gpt2TweetModel.MaxResamples + 1} times for some completions; they are left empty");
            }
            if (stream)
            {
                context.Out.WriteLine(completions[0].Text[Math.Min(shown, completions[0].Text.Length)..]);
                return Task.FromResult(0);
            }
        }

        if (json)
        {
            var array = new JsonArray();
            foreach (var c in completions)
                array.Add(new JsonObject
                {
                    ["text"] = tokenizer is null ? null : c.Text,
                    ["prompt_ids"] = new JsonArray(c.PromptIds.Select(i => (JsonNode)i).ToArray()),
                    ["generated_ids"] = new JsonArray(c.GeneratedIds.Select(i => (JsonNode)i).ToArray()),
                    ["finish_reason"] = c.FinishReason,
                });
            context.Out.WriteLine(new JsonObject { ["completions"] = array }.ToJsonString());
        }
        else
        {
            for (int i = 0; i < completions.Count; i++)
            {
                var c = completions[i];
                if (completions.Count > 1) context.Out.WriteLine($"--- completion {i + 1} ({c.FinishReason})");
                context.Out.WriteLine(tokenizer is null ? string.Join(",", c.GeneratedIds) : tweet ? c.Text : (prompt ?? "") + c.Text);
            }
        }
        return Task.FromResult(0);
    }

    static T Run<T>(Func<T> generate)
    {
        try { return generate(); }
        catch (ArgumentException e) { throw new UserFacingException(e.Message, e); }
    }

    static bool HasTokenizerFiles(string dir) =>
        new[] { "vocab.json", "encoder.json", "tokenizer.json" }.Any(f => File.Exists(Path.Combine(dir, f)));

    static int[] ParseIds(string s)
    {
        try
        {
            var ids = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            if (ids.Length == 0) throw new CliUsageException("--prompt-ids is empty");
            return ids;
        }
        catch (FormatException) { throw new CliUsageException($"--prompt-ids must be comma-separated integers (got '{s}')"); }
        catch (OverflowException) { throw new CliUsageException($"--prompt-ids has a number out of range ('{s}')"); }
    }
}
