using System.Text.Json;
using GanBertBots.Models.Bert;
using GanBertBots.Models.Runtime;
using GanBertBots.Models.Tokenizers;
using GanBertBots.Tests.Support;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// Known answers for the pretrained encoder beside the repository (all-MiniLM-L6-v2, issue 12 item 1): our BERT over its
/// safetensors reproduces ONNX Runtime's last_hidden_state on the original export, and our WordPiece over its vocab.txt
/// gives the ids written below by hand (each piece looked up in vocab.txt; greedy longest match, "##" continuations).
/// </summary>
public sealed class MiniLmKnownAnswerTests
{
    const string Folder = "all-MiniLM-L6-v2";

    [SharedDataFact(Folder)]
    public void Our_bert_reproduces_onnx_runtimes_last_hidden_state_to_1e_4()
    {
        string dir = SharedData.Require(Folder);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected_hidden.json")));
        int hiddenSize = json.RootElement.GetProperty("hidden_size").GetInt32();
        using var encoder = BertWeights.LoadEncoder(dir, TorchPlacement.Cpu);
        Assert.Equal(hiddenSize, encoder.Config.HiddenSize);
        int cases = 0;
        foreach (var c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            long[] ids = c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            float[] expected = c.GetProperty("last_hidden_state").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(ids.Length * hiddenSize, expected.Length);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var idTensor = tensor(ids).view(1, ids.Length);                       // [1, T]
            var mask = ones(1, ids.Length, ScalarType.Int64);                      // [1, T]
            var hidden = encoder.Hidden(encoder.Words(idTensor), mask);            // [1, T, H]
            float[] ours = hidden.reshape(-1).to(ScalarType.Float32).data<float>().ToArray();
            double worst = expected.Zip(ours, (e, o) => Math.Abs(e - o)).Max();
            Assert.True(worst < 1e-4, $"case {cases} ({ids.Length} tokens): largest difference {worst:E2}");
            cases++;
        }
        Assert.Equal(5, cases);
    }

    public static TheoryData<string, int[]> Sentences => new()
    {
        { "Hello, world!", [101, 7592, 1010, 2088, 999, 102] },
        { "The flood forced 300 people from their homes.", [101, 1996, 7186, 3140, 3998, 2111, 2013, 2037, 5014, 1012, 102] },
        // wildfire = wild ##fire; ronge = ron ##ge; the emoji is in no piece: [UNK]
        { "Wildfire in La Ronge 🔥", [101, 3748, 10273, 1999, 2474, 6902, 3351, 100, 102] },
        // chatgpt = chat ##gp ##t (no "chatg", "chatgp", "##gpt"); '#' is split off as punctuation
        { "ChatGPT wrote this? #earthquakes", [101, 11834, 21600, 2102, 2626, 2023, 1029, 1001, 17932, 102] },
        // accents are stripped after lower-casing (uncased vocabulary): café = cafe, résumé = resume, naïve = naive; "." is punctuation
        { "Café résumé, naïve.", [101, 7668, 13746, 1010, 15743, 1012, 102] },
    };

    [SharedDataTheory(Folder)]
    [MemberData(nameof(Sentences))]
    public void WordPiece_over_the_minilm_vocabulary_gives_the_hand_written_ids(string text, int[] expected)
    {
        var tokenizer = new BertWordPieceTokenizer(Path.Combine(SharedData.Require(Folder), "vocab.txt"), maxLength: 64);
        Assert.Equal(expected, tokenizer.Encode(text).Ids);
    }
}
