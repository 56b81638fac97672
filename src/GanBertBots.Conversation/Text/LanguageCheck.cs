using System.Text.RegularExpressions;

namespace GanBertBots.Conversation;

/// <summary>
/// A light check whether a text looks English (both models were trained on English; a verdict on anything else may
/// mean little). Not a language model. It says no when:
/// <list type="bullet">
/// <item>most letters are of another script (Cyrillic, Greek, Arabic, CJK, ...);</item>
/// <item>two or more words carry the letters of Latin Extended-A/B or Latin Extended Additional (ą, ł, ř, ş, ő, ệ ...),
/// which English does not use, and they are at least a seventh of the words;</item>
/// <item>three or more words are common function words of one other language (Spanish, French, German, Italian,
/// Portuguese, Dutch, the Scandinavian languages, Finnish, Hungarian, Polish, Czech, Romanian, Turkish, Indonesian/Malay,
/// Tagalog, Swahili) and they outnumber the English function words.</item>
/// </list>
/// Links, @mentions, #hashtags and HTML entities are read past, and a text with no function words of any language
/// (headlines, adverts, lists of keywords, all common in tweets) is given the benefit of the doubt.
/// </summary>
public static class LanguageCheck
{
    /// <summary>The one-line notice above a verdict on <paramref name="text"/>; null when it looks English.</summary>
    public static string? Notice(string text) => Guess(text) is { } what
        ? $"(This looks like {what}, not English. Both models learned from English texts, so the verdict may mean little.)"
        : null;

    public static bool LooksEnglish(string text) => Guess(text) is null;

    static readonly HashSet<string> EnglishFunctionWords =
        [.. """
            the a an and or but of to in on at by for with from into onto over under after before near about as than then
            is are was were be been being am do does did have has had will would can could should may might must shall
            it its this that these those there here what which who whom whose when where why how
            i me my mine you your yours he him his she her hers we us our they them their not no yes all some any just also
            only very more most so if up out off down because while again still even
            """.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)];

    // Common function words of other languages, less those that are also English function words ("a", "in", "no", ...).
    static readonly (string Language, HashSet<string> Words)[] OtherFunctionWords =
    [
        ("Spanish", Words("el la lo los las le les de del al un una unos unas y o pero que en por para con sin sobre entre es son está están fue ha han muy más este esta estos estas ese esa su sus nos mi tu yo él ella ellos como cuando donde porque también ya hay")),
        ("French", Words("le la les de des du une un et ou mais que qui en dans par pour avec sans sur est sont été ont ce cette ces son sa ses leur nous vous ils elle je tu pas ne très plus comme quand où aussi au aux")),
        ("German", Words("der die das den dem des ein eine einen einem und oder aber dass mit von zu im ist sind war wurde hat haben nicht auch sehr wie wenn wo ich du er sie wir ihr es auf für aus bei nach über")),
        ("Italian", Words("il lo la gli le un una uno e o ma che di da con per su del della dei delle è sono stato ha hanno non molto più come quando dove anche questo questa")),
        ("Portuguese", Words("o os as um uma uns umas e ou mas que de do da dos das em no na nos nas por para com sem é são foi tem não muito mais como quando onde também este esta isso")),
        ("Dutch", Words("de het een en of maar dat die met van voor op naar uit bij is zijn was werd heeft hebben niet ook zeer heel wat als waar ik jij hij zij wij")),
        ("Swedish", Words("och det att som en på är av för med till den har de inte om ett men var jag så vi från kan när efter")),
        ("Danish or Norwegian", Words("og det at som en på er af av for med til den har de ikke om et men var jeg så vi fra kan når efter etter")),
        ("Finnish", Words("ja on ei se että oli ovat kun mutta tai tämä myös hän he me minä sinä kuin jo niin")),
        ("Hungarian", Words("a az és hogy nem is egy meg van volt de ez már csak mint vagy ő mi")),
        ("Polish", Words("i w na z się nie do to że jest o jak ale po co od za przez dla są był było tak już jego")),
        ("Czech", Words("a v na se je že to s z do jsou by jako ale pro od po tak byl bylo")),
        ("Romanian", Words("și în de la cu pe că nu este sunt o un mai din care pentru")),
        ("Turkish", Words("ve bir bu da de için ile çok ne gibi daha olarak kadar ama sonra değil var en ben sen o")),
        ("Indonesian or Malay", Words("yang dan di ke dari ini itu dengan untuk pada tidak ada akan juga sudah karena oleh dalam atau saya kami mereka")),
        ("Tagalog", Words("ang ng sa na mga ay at ko mo siya hindi ito para kung may")),
        ("Swahili", Words("na ya wa kwa za la katika ni kama lakini hii hiyo watu sana pia")),
    ];

    static readonly Regex ReadPast = new(@"https?://\S+|www\.\S+|[@#]\w+|&\w+;", RegexOptions.Compiled);
    static readonly Regex Word = new(@"\p{L}+(?:'\p{L}+)?", RegexOptions.Compiled);

    /// <summary>
    /// What the text looks like when it does not look English ("Portuguese", "Cyrillic script", "a language with letters
    /// English does not use"); null when it looks English or there is too little to tell.
    /// </summary>
    public static string? Guess(string text)
    {
        var scripts = new Dictionary<string, int>();
        int letters = 0, latin = 0;
        foreach (char ch in text)
        {
            if (!char.IsLetter(ch)) continue;
            letters++;
            if (IsLatin(ch)) { latin++; continue; }
            string script = ScriptOf(ch);
            scripts[script] = scripts.GetValueOrDefault(script) + 1;
        }
        if (letters == 0) return null;
        if (latin < letters * 0.7) return scripts.ContainsKey("Japanese") ? "Japanese" : scripts.MaxBy(s => s.Value).Key; // kana: Japanese, whatever its kanji

        var words = Word.Matches(ReadPast.Replace(text, " ").ToLowerInvariant()).Select(m => m.Value).ToList();
        if (words.Count == 0) return null;
        int english = words.Count(EnglishFunctionWords.Contains);
        var (language, other) = OtherFunctionWords.Select(l => (l.Language, Count: words.Count(l.Words.Contains))).MaxBy(l => l.Count);
        if (other >= 3 && other > english) return language;
        int marked = words.Count(w => w.Any(IsNotEnglishLatin));
        if (marked >= 2 && marked * 7 >= words.Count) return "a language with letters English does not use";
        return null;
    }

    static string ScriptOf(char ch) => ch switch
    {
        >= '\u0370' and <= '\u03FF' => "Greek script",
        >= '\u0400' and <= '\u052F' => "Cyrillic script",
        >= '\u0530' and <= '\u058F' => "Armenian script",
        >= '\u0590' and <= '\u05FF' => "Hebrew script",
        >= '\u0600' and <= '\u06FF' or >= '\u0750' and <= '\u077F' => "Arabic script",
        >= '\u0900' and <= '\u0DFF' => "an Indian script",
        >= '\u0E00' and <= '\u0E7F' => "Thai script",
        >= '\u10A0' and <= '\u10FF' => "Georgian script",
        >= '\u3040' and <= '\u30FF' => "Japanese",
        >= '\uAC00' and <= '\uD7AF' or >= '\u1100' and <= '\u11FF' => "Korean",
        >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' => "Chinese characters",
        _ => "another script",
    };

    // Basic Latin, Latin-1, Latin Extended-A/B, and Latin Extended Additional (Vietnamese and others).
    static bool IsLatin(char ch) => ch < '\u0250' || ch is >= '\u1E00' and <= '\u1EFF';

    // Latin letters English never uses (Latin-1's é, ü, ñ are left out: loanwords and mis-decoded tweets carry them).
    static bool IsNotEnglishLatin(char ch) => ch is >= '\u0100' and < '\u0250' or >= '\u1E00' and <= '\u1EFF';

    static HashSet<string> Words(string words) =>
        [.. words.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !EnglishFunctionWords.Contains(w))];
}
