using GanBertBots.Models.Gpt2;
using GanBertBots.Training.Generator;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Process;

/// <summary>
/// Issue 17, seen where a person sees it: the real executable's CLI and console chat. A labelled corpus keeps who wrote
/// each text (the game never calls a machine's text real), labels that cannot be kept are refused, an empty tweet is
/// answered honestly, and a broken generator does not show users the server's paths.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class LearningLoopProcessTests
{
    static readonly Dictionary<string, string> NoRetraining = new() { ["Retraining__Enabled"] = "false" };

    [Fact]
    public async Task An_imported_machine_written_text_is_never_called_real_in_the_game()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-game-").FullName;
        try
        {
            // Only machine-written rows: whatever /game shows from the corpus, a machine wrote it.
            string corpus = Path.Combine(work, "m4-mini.jsonl");
            await File.WriteAllTextAsync(corpus,
                "{\"text\":\"In this paper, we delve into the intricate landscape of detectors.\",\"label\":\"chatGPT\",\"source\":\"arxiv\"}\n" +
                "{\"text\":\"This study presents a comprehensive framework for robust detection.\",\"label\":\"dolly\",\"source\":\"arxiv\"}\n");
            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "import-corpus", corpus);
            Assert.True(code == 0, $"import-corpus exited {code}:\n{output}\n{errors}");
            Assert.Matches(@"chatGPT\s+1 rows", output);
            Assert.Matches(@"dolly\s+1 rows", output);
            Assert.DoesNotMatch(@"human\s+\d+ rows", output);

            await using var service = ServiceProcess.Start(NoRetraining, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/game");
            await service.WaitForOutputAsync("Real or fake?");
            await service.WaitForOutputAsync("(type a number to choose)");
            service.Type("1");      // 🧑 Real
            await service.WaitForOutputAsync("it was ");
            Assert.DoesNotContain("written by a person", service.Output);
            Assert.DoesNotContain("✅ Right", service.Output);
            Assert.Matches("❌ Wrong, .*: it was fake, written by (chatGPT|dolly) \\(from the corpus m4-mini.jsonl\\)", service.Output);
            service.Type("/top");                                   // this chat's leaderboard
            await service.WaitForOutputAsync("Best guessers here");
            await service.WaitForOutputAsync("- 0/1 right");
            service.Type("/game hard");                              // no detector here: a round of any difficulty, said so
            await service.WaitForOutputAsync("Easy and hard rounds need the detector");
            await service.WaitForOutputAsync("Real or fake? (hard)");
            Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Import_corpus_refuses_labels_that_do_not_say_who_wrote_the_text_and_stores_nothing()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-import-").FullName;
        try
        {
            string corpus = Path.Combine(work, "detector-data.csv");
            await File.WriteAllTextAsync(corpus, "text,label\n\"Written by a bot, allegedly\",1\n\"Written by me\",0\n");
            var (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "import-corpus", corpus);
            Assert.Equal(1, code);
            Assert.Contains("'0', '1'", errors);
            Assert.Contains("nothing imported", errors);
            Assert.DoesNotContain("added", output);

            // Said explicitly, the rows are kept as human-written, with their labels as corpus labels.
            (code, output, errors) = await ServiceProcess.RunCliAsync(work, null, "import-corpus", corpus, "--written-by", "human");
            Assert.True(code == 0, errors);
            Assert.Matches(@"added\s+2\b", output);
            Assert.Matches(@"human\s+2 rows", output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task A_generator_that_writes_only_empty_tweets_gets_an_honest_answer_not_an_apology()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-empty-").FullName;
        try
        {
            EndOfTextOnlyGenerator(Path.Combine(work, "models", "gpt2"));
            await using var service = ServiceProcess.Start(NoRetraining, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/tweet");
            await service.WaitForOutputAsync("I could not write a tweet this time, please try again.", timeout: TimeSpan.FromSeconds(90));
            Assert.DoesNotContain("something went wrong", service.Output);
            Assert.DoesNotContain("the text is empty", service.Output + service.Errors);
            Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task Generate_tweet_resamples_an_empty_tweet_and_says_so_when_the_model_writes_nothing()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-empty-cli-").FullName;
        try
        {
            EndOfTextOnlyGenerator(Path.Combine(work, "gpt2"));
            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "generate", "--model", "gpt2", "--prompt", "flood", "--tweet", "--num-return", "3", "--seed", "7");
            Assert.Equal(0, code);
            Assert.Contains($"wrote an empty tweet {GanBertBots.Inference.Gpt2TweetModel.MaxResamples + 1} times", error);

            // A model that writes text: every tweet has some, whatever the seed.
            TinyRoundModels.Generator(Path.Combine(work, "talker"), seed: 11);
            (code, output, error) = await ServiceProcess.RunCliAsync(work, null, "generate", "--model", "talker", "--prompt", "flood", "--tweet", "--num-return", "20", "--max-new-tokens", "3", "--seed", "3");
            Assert.Equal(0, code);
            Assert.DoesNotContain("empty tweet", error);
            Assert.DoesNotContain('\uFFFD', output);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public async Task A_truncated_generator_does_not_show_chat_users_the_servers_paths()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-truncated-").FullName;
        try
        {
            string dir = TinyRoundModels.Generator(Path.Combine(work, "models", "gpt2"), seed: 3);
            string weights = Path.Combine(dir, "model.safetensors");
            using (var file = new FileStream(weights, FileMode.Open)) file.SetLength(file.Length * 2 / 3);

            await using var service = ServiceProcess.Start(NoRetraining, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/tweet");
            await service.WaitForOutputAsync("updated)", timeout: TimeSpan.FromSeconds(90));   // the placeholder's final edit
            string chat = service.Output;
            Assert.DoesNotContain(work, chat);
            Assert.DoesNotContain("safetensors", chat);
            Assert.DoesNotContain("byte", chat);
            // The operator's log has the detail.
            Assert.Contains("truncated", service.Errors);
            Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    /// <summary>
    /// A byte-level GPT-2 whose every next token is &lt;|endoftext|&gt;: the final layer norm ignores its input and
    /// points at the end-of-text embedding, so each tweet comes out empty.
    /// </summary>
    static void EndOfTextOnlyGenerator(string dir)
    {
        ByteTokenizer.Write(dir);
        using var model = new Gpt2LMHeadModel(GeneratorTrainingOptions.ScratchConfig("tiny", 259, 258, positions: 128));
        TinyGpt2.Randomise(model, 5, scale: 0.02);
        using (no_grad())
        {
            var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            var wte = p["wte.weight"];
            wte[TensorIndex.Colon, 0].fill_(0);
            wte[258, 0].fill_(1);
            p["ln_f.weight"].fill_(0);
            p["ln_f.bias"].fill_(0);
            p["ln_f.bias"][0].fill_(100);
        }
        Gpt2Checkpoint.Save(model, dir);
    }
}
