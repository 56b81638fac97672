using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GanBertBots.Models.Generation;

/// <summary>What to feed the generator for one tweet, and how to turn its output into the tweet.</summary>
/// <param name="PromptText">Text after &lt;|endoftext|&gt; (the tweet starts a new document).</param>
/// <param name="TweetPrefix">What the tweet starts with before the generated continuation (a free prompt is part of the tweet).</param>
public sealed record TweetPrompt(string PromptText, string TweetPrefix);

/// <summary>
/// The disaster-tweet preset. A keyword ("earthquake") becomes the prompt "earthquake:" - the
/// format <c>train-generator</c> trains on (keyword, colon, tweet) - and the tweet is the
/// continuation; a free prompt ("Flooding on Main St") begins the tweet itself. The result is
/// at most 280 characters, cut at a sentence or word end rather than mid-word.
/// </summary>
public static partial class TweetComposer
{
    public const int MaxTweetLength = 280;
    public const int MaxTopicLength = 200;

    /// <summary>Sampling settings that give varied but on-topic tweets.</summary>
    public static GenerationOptions DefaultOptions { get; } = new()
    {
        MaxNewTokens = 70, Temperature = 0.9, TopK = 50, TopP = 0.95, RepetitionPenalty = 1.1,
        StopSequences = new[] { "\n\n" },
    };

    /// <summary>The line a training example is made of: "keyword: tweet" (keyword may be empty).</summary>
    public static string TrainingText(string? keyword, string tweet)
    {
        string k = NormaliseKeyword(keyword);
        string t = Collapse(tweet);
        return k.Length == 0 ? t : $"{k}: {t}";
    }

    public static TweetPrompt Compose(string? topic)
    {
        string t = Collapse(topic ?? "");
        if (t.Length == 0) return new TweetPrompt("", "");
        if (t.Length > MaxTopicLength)
            throw new ArgumentException($"the topic is {t.Length} characters; at most {MaxTopicLength} are allowed");
        if (!t.Contains(' ')) return new TweetPrompt($"{NormaliseKeyword(t)}:", "");   // a keyword
        return new TweetPrompt(t, t);                                                   // a free prompt starts the tweet
    }

    /// <summary>Prefix + continuation, one line, at most 280 characters, cut cleanly.</summary>
    public static string Finish(TweetPrompt prompt, string generated)
    {
        // A cut multi-byte character (the token budget ended inside it) decodes to U+FFFD: never part of a finished tweet.
        generated = generated.Replace("\uFFFD", "");
        string body = Collapse(generated);
        // A continuation that starts without a space continues the prompt's last word or punctuates it.
        bool joinsLastWord = generated.Length > 0 && !char.IsWhiteSpace(generated[0]);
        string text = prompt.TweetPrefix.Length == 0 ? body
            : body.Length == 0 ? prompt.TweetPrefix
            : prompt.TweetPrefix + (joinsLastWord ? "" : " ") + body;
        return Cut(text.Trim(), MaxTweetLength);
    }

    /// <summary>Cuts to at most <paramref name="max"/> characters (whole text elements: emoji stay whole).</summary>
    public static string Cut(string text, int max)
    {
        var info = new StringInfo(text);
        if (text.Length <= max) return text;
        // Longest prefix of whole text elements that fits, leaving room for an ellipsis.
        int elements = 0, length = 0;
        while (elements < info.LengthInTextElements)
        {
            int next = info.SubstringByTextElements(elements, 1).Length;
            if (length + next > max - 1) break;
            length += next; elements++;
        }
        string head = text[..length];
        // Prefer a sentence end in the second half, else the last word boundary.
        int sentence = head.LastIndexOfAny(new[] { '.', '!', '?' });
        if (sentence >= max / 2) return head[..(sentence + 1)];
        int space = head.LastIndexOf(' ');
        if (space >= max / 2) head = head[..space];
        return head.TrimEnd(' ', ',', ';', ':', '-') + "…";
    }

    static string NormaliseKeyword(string? keyword) =>
        Uri.UnescapeDataString((keyword ?? "").Trim().TrimStart('#')).Replace('_', ' ').ToLowerInvariant();

    static string Collapse(string s) => Spaces().Replace(s.Replace("\u0000", ""), " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
