namespace GanBertBots.Conversation;

/// <summary>
/// A light check whether a text looks English (both models were trained on English; a verdict on anything else may
/// mean little). Not a language model: mostly another script says no; ten or more Latin words of which hardly any is a
/// common English function word says no; anything shorter or mostly numbers and emoji is given the benefit of the doubt.
/// </summary>
public static class LanguageCheck
{
    public const string Notice = "(This does not look like English. Both models learned from English texts, so the verdict may mean little.)";

    // Function words of English that are not also common words of Spanish, French, German, Italian or Portuguese.
    static readonly HashSet<string> EnglishFunctionWords =
        ["the", "and", "of", "to", "is", "are", "were", "it", "this", "that", "for", "with", "you", "he", "she", "we", "they",
         "have", "has", "from", "not", "be", "by", "at", "my", "your", "our", "their", "its", "i", "been", "would", "just", "what", "there"];

    public static bool LooksEnglish(string text)
    {
        int letters = 0, latin = 0;
        foreach (char ch in text)
        {
            if (!char.IsLetter(ch)) continue;
            letters++;
            if (ch < '\u0250') latin++; // Basic Latin, Latin-1 and Latin Extended-A/B
        }
        if (letters == 0) return true;
        if (latin < letters * 0.7) return false;
        var words = text.ToLowerInvariant().Split((char[])[' ', '\n', '\t', ',', '.', '!', '?', ';', ':', '"', '(', ')'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Any(char.IsLetter) && !w.StartsWith('#') && !w.StartsWith('@') && !w.StartsWith("http")).ToList();
        if (words.Count < 10) return true;
        return words.Count(EnglishFunctionWords.Contains) >= words.Count * 0.08;
    }
}
