using System.Text.Json;
using GanBertBots.Host.Cli;
using GanBertBots.Tests.Hub;
using GanBertBots.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.Tokenizers;

public class TokenizeVerbTests
{
    static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var config = new ConfigurationBuilder().Build();
        int code = await CliApp.RunAsync(args, stdout: stdout, stderr: stderr, configuration: config);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public async Task Json_output_carries_the_known_ids()
    {
        // Known answer from llama.cpp's test data: " Hello, world!" → 18435 11 995 0.
        var (code, output, err) = await Run("tokenize", "--model", SharedData.Require("gpt2-tokenizer"), "--text", " Hello, world!", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(new[] { 18435, 11, 995, 0 }, doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [SharedDataFact("gpt2-tokenizer/encoder.json")]
    public async Task Readable_listing_shows_each_id_with_its_text_and_partial_characters_as_bytes()
    {
        var (code, output, err) = await Run("tokenize", "--model", SharedData.Require("gpt2-tokenizer"), "--text", "Hello world 🦙");
        Assert.True(code == 0, err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("5 token(s)", lines[0]);
        Assert.Matches(@"^\s+0\s+15496\s+""Hello""$", lines[1]);
        Assert.Matches(@"^\s+1\s+995\s+"" world""$", lines[2]);
        // 🦙 = f0 9f a6 99 is split by GPT-2 into " \xf0\x9f" (12520), "\xa6" (99), "\x99" (247).
        Assert.Matches(@"^\s+2\s+12520\s+<20f09f>$", lines[3]);
    }

    [Fact]
    public async Task Missing_tokenizer_files_give_a_clear_error_naming_them()
    {
        using var dir = new ScratchDirectory();
        var (code, _, err) = await Run("tokenize", "--model", dir.Path, "--text", "hi");
        Assert.Equal(1, code);
        Assert.Contains("vocab.json", err);
        Assert.Contains("merges.txt", err);
    }

    [Fact]
    public async Task Missing_text_is_a_usage_error()
    {
        var (code, _, err) = await Run("tokenize", "--model", "x");
        Assert.Equal(2, code);
        Assert.Contains("--text", err);
    }
}
