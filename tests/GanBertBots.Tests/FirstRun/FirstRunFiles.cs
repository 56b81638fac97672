using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GanBertBots.Host.Cli;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.FirstRun;

/// <summary>What the first-run tests share: running the CLI, tiny data files, and reading a command out of a hint.</summary>
static class FirstRunFiles
{
    public static async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CliApp.RunAsync(args, stdout, stderr, new ConfigurationBuilder().Build());
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A .jsonl in the common layout (text, label, source_id) with two classes a tiny model can tell apart.</summary>
    public static string DetectorJsonl(string dir, int rows = 24)
    {
        string path = Path.Combine(dir, "texts.jsonl");
        File.WriteAllLines(path, SyntheticDetector.Rows(rows, seed: 5).Select((r, i) =>
            JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = r.Text, ["label"] = r.Label!, ["source_id"] = $"p{i / 2}" })));
        return path;
    }

    /// <summary>A .csv in the disaster tweets' layout (id, keyword, location, text, target).</summary>
    public static string TweetsCsv(string dir, int rows = 24)
    {
        string path = Path.Combine(dir, "tweets.csv");
        var sb = new StringBuilder("id,keyword,location,text,target\n");
        for (int i = 0; i < rows; i++) sb.Append($"{i},flood,,\"Flood warning number {i} for the river, stay safe\",{i % 2}\n");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The one backticked <c>ganbertbots VERB ...</c> command of a hint that starts with <paramref name="verb"/>, split as a POSIX shell would.</summary>
    public static List<string> PrintedCommand(string hint, string verb)
    {
        var matches = Regex.Matches(hint, "`ganbertbots " + Regex.Escape(verb) + " ([^`]*)`");
        Assert.True(matches.Count == 1, $"expected one `ganbertbots {verb} ...` in: {hint}");
        return [verb, .. ShellSplit(matches[0].Groups[1].Value)];
    }

    static IEnumerable<string> ShellSplit(string line)
    {
        var word = new StringBuilder();
        bool inWord = false, quoted = false;
        foreach (char c in line)
        {
            if (quoted) { if (c == '\'') quoted = false; else word.Append(c); }
            else if (c == '\'') { quoted = true; inWord = true; }
            else if (c == ' ') { if (inWord) yield return word.ToString(); word.Clear(); inWord = false; }
            else { word.Append(c); inWord = true; }
        }
        Assert.False(quoted, $"unbalanced quote in: {line}");
        if (inWord) yield return word.ToString();
    }

    /// <summary>The command with <paramref name="option"/>'s value replaced (the option must be there).</summary>
    public static List<string> With(List<string> args, string option, string value)
    {
        int i = args.IndexOf(option);
        Assert.True(i >= 0 && i + 1 < args.Count, $"{option} is not in: {string.Join(' ', args)}");
        var copy = args.ToList();
        copy[i + 1] = value;
        return copy;
    }

    /// <summary>The option's value in a command.</summary>
    public static string ValueOf(List<string> args, string option) =>
        args.IndexOf(option) is var i and >= 0 && i + 1 < args.Count ? args[i + 1] : throw new Xunit.Sdk.XunitException($"{option} missing");
}
