using System.Text.Json;
using GanBertBots.Models.Tokenizers;

namespace GanBertBots.Host.Cli;

/// <summary><c>ganbertbots tokenize --model DIR --text TEXT [--json]</c>: GPT-2 token ids of a text, no weights needed.</summary>
public sealed class TokenizeVerb : ICliVerb
{
    public string Name => "tokenize";
    public string Summary => "Show the GPT-2 token ids of a text (needs only the tokenizer files)";
    public string Usage => """
        Usage: ganbertbots tokenize --model DIR --text TEXT [--json]
          --model DIR   checkpoint directory with vocab.json + merges.txt (or encoder.json + vocab.bpe, or tokenizer.json)
          --text TEXT   the text to tokenize ("-" reads standard input)
          --json        print {"ids":[...]} instead of a table of ids and token texts
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context)
    {
        var a = CliArgs.Parse(args, "json");
        string model = a.Require("model");
        string text = a.Require("text");
        bool json = a.Flag("json");
        a.RejectUnknown();
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        if (text == "-") text = await Console.In.ReadToEndAsync(context.Cancellation);

        var tokenizer = Gpt2Tokenizer.Load(model);
        int[] ids = tokenizer.Encode(text);

        if (json)
        {
            await context.Out.WriteLineAsync(JsonSerializer.Serialize(new { ids }));
            return 0;
        }
        await context.Out.WriteLineAsync($"{ids.Length} token(s), {text.Length} character(s), vocabulary {tokenizer.VocabSize}");
        for (int i = 0; i < ids.Length; i++)
            await context.Out.WriteLineAsync($"{i,6}  {ids[i],6}  {Show(tokenizer.TokenBytes(ids[i]))}");
        return 0;
    }

    static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A token's text as a JSON string literal, so spaces and newlines are visible; a token holding
    /// part of a character shows its bytes instead, e.g. <c>&lt;f0 9f&gt;</c>.
    /// </summary>
    static string Show(ReadOnlySpan<byte> bytes)
    {
        try { return JsonSerializer.Serialize(new System.Text.UTF8Encoding(false, true).GetString(bytes), Relaxed); }
        catch (System.Text.DecoderFallbackException) { return "<" + Convert.ToHexString(bytes).ToLowerInvariant() + ">"; }
    }
}
