using System.Text.Json;
using GanBertBots.Host.Cli;
using GanBertBots.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.Gpt2;

public class GenerateVerbTests
{
    static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = await CliApp.RunAsync(args, o, e, new ConfigurationBuilder().Build());
        return (code, o.ToString(), e.ToString());
    }

    [SharedDataFact("tiny-random-gpt2/model.safetensors", "tiny-random-gpt2/expected.json")]
    public async Task Json_output_with_prompt_ids_reproduces_the_known_greedy_answer()
    {
        string dir = SharedData.Require("tiny-random-gpt2");   // config + weights only: no tokenizer files
        var (code, stdout, stderr) = await Run("generate", "--model", dir, "--prompt-ids", "0,0,195,731",
            "--max-new-tokens", "6", "--temperature", "0", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var c = doc.RootElement.GetProperty("completions")[0];
        Assert.Equal(new[] { 0, 0, 195, 731 }, c.GetProperty("prompt_ids").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(new[] { 731, 114, 114, 114, 114, 114 }, c.GetProperty("generated_ids").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(JsonValueKind.Null, c.GetProperty("text").ValueKind);
    }

    [Fact]
    public async Task Usage_errors_exit_2_with_a_message()
    {
        var (code, _, err) = await Run("generate", "--model", "/nonexistent");
        Assert.Equal(2, code);
        Assert.Contains("--prompt", err);
        (code, _, err) = await Run("generate", "--model", "/x", "--prompt-ids", "1,a");
        Assert.Equal(2, code);
        Assert.Contains("integers", err);
        (code, _, err) = await Run("generate", "--model", "/x", "--prompt", "hi", "--top-p", "2");
        Assert.Equal(2, code);
        Assert.Contains("top-p", err);
        (code, _, err) = await Run("generate", "--model", "/x", "--prompt", "hi", "--bogus", "1");
        Assert.Equal(2, code);
        Assert.Contains("--bogus", err);
    }

    [Fact]
    public async Task Missing_model_is_a_clear_error_not_a_crash()
    {
        var (code, _, err) = await Run("generate", "--model", "/nonexistent/gpt2", "--prompt-ids", "1,2");
        Assert.Equal(1, code);
        Assert.Contains("models pull", err);
    }
}
