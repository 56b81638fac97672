using GanBertBots.Models.ZeroShot;
using GanBertBots.Models.Generation;
using GanBertBots.Testing;
using GanBertBots.Training.Detector;
using GanBertBots.Training.ZeroShot;

namespace GanBertBots.Tests.Process;

/// <summary><c>eval-zero-shot</c> run as a user runs it, on a tiny GPT-2 and a small labelled file.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class EvalZeroShotProcessTests
{
    [Fact]
    public async Task Prints_AUROC_of_human_against_each_class_and_all_and_names_a_missing_human_class()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-zeroshot-").FullName;
        try
        {
            string scorer = TinyTweetModel.CreateCheckpoint(seed: 5);
            (string Text, string Label)[] rows =
            [
                ("a flood took the bridge", "human"), ("wildfire near the town", "human"), ("people evacuated after the storm", "human"),
                ("the river rose overnight", "human"), ("tornado sirens at noon", "gpt2"), ("earthquake felt downtown", "gpt2"),
                ("hail the size of golf balls", "llama"), ("smoke over the hills again", "llama"),
            ];
            File.WriteAllLines(Path.Combine(work, "texts.jsonl"), rows.Select(r => $$"""{"text":"{{r.Text}}","label":"{{r.Label}}"}"""));

            var (code, output, error) = await ServiceProcess.RunCliAsync(work, null,
                "eval-zero-shot", "--scorer", scorer, "--data", "texts.jsonl", "--device", "cpu", "--threads", "1");
            Assert.True(code == 0, output + error);
            // The figures the library computes for the same texts with the same checkpoint (the math itself has its own known-answer tests).
            using var generator = TextGenerator.Load(scorer);
            var expected = ZeroShotEvaluation.Evaluate(new TextScorer(generator.Model, generator.Tokenizer),
                rows.Select(r => new LabelledText(r.Text, r.Label)).ToList(), "human");
            Assert.Equal(2, expected.Classes.Count);
            foreach (var c in expected.Classes.Append(expected.All))
                Assert.Contains($"| {c.Label} | {c.Count} | {c.MeanScore:F3} | {c.Auroc:F3} |", output);
            Assert.Contains("human = 'human': 4 texts", output);

            (code, output, error) = await ServiceProcess.RunCliAsync(work, null,
                "eval-zero-shot", "--scorer", scorer, "--data", "texts.jsonl", "--human", "person", "--device", "cpu");
            Assert.Equal(1, code);
            Assert.Contains("no text is labelled 'person' (the human class); labels found: gpt2, human, llama", error);

            // Human rows only, against tweets the scorer samples itself, with and without the preset's repetition penalty.
            File.WriteAllLines(Path.Combine(work, "tweets.csv"), ["keyword,text", "flood,a flood took the bridge", "fire,wildfire near the town", ",people evacuated"]);
            (code, output, error) = await ServiceProcess.RunCliAsync(work, null,
                "eval-zero-shot", "--scorer", scorer, "--data", "tweets.csv", "--generate", "3", "--device", "cpu", "--threads", "1");
            Assert.True(code == 0, output + error);
            Assert.Matches(@"\| sampled, tweet preset \(repetition penalty 1.1\) \| 3 \| -?\d+\.\d{3} \| \d\.\d{3} \|", output);
            Assert.Matches(@"\| sampled, tweet preset without repetition penalty \| 3 \| -?\d+\.\d{3} \| \d\.\d{3} \|", output);
            Assert.Contains("human = 'human': 3 texts", output);

            // eval-detector prints the zero-shot AUROC beside the detector's figures when given a scorer.
            string[] known = ["a flood took the bridge", "wildfire near the town", "people evacuated after the storm", "tornado sirens at noon"];
            TinyRoundModels.Detector(Path.Combine(work, "detector"), known);
            File.WriteAllLines(Path.Combine(work, "known.jsonl"), known.Select((t, i) => $$"""{"text":"{{t}}","label":"{{(i % 2 == 0 ? "human" : "gpt2")}}"}"""));
            (code, output, error) = await ServiceProcess.RunCliAsync(work, null,
                "eval-detector", "--model", "detector", "--data", "known.jsonl", "--scorer", scorer, "--device", "cpu");
            Assert.True(code == 0, output + error);
            Assert.Contains("texts scored: 4", output);
            Assert.Contains("beside the detector:", output);
            Assert.Matches(@"\| gpt2 \| 2 \| -?\d+\.\d{3} \| \d\.\d{3} \|", output);
            Directory.Delete(scorer, recursive: true);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
