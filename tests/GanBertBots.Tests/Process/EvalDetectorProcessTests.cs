
namespace GanBertBots.Tests.Process;

/// <summary><c>eval-detector</c> run as a user runs it: on texts it can score, and on texts whose labels it does not know.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class EvalDetectorProcessTests
{
    [Fact]
    public async Task Labels_outside_the_detector_classes_are_an_error_not_accuracy_0()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-eval-").FullName;
        try
        {
            string[] texts = ["a flood took the bridge", "wildfire near the town", "people evacuated after the storm"];
            TinyRoundModels.Detector(Path.Combine(work, "detector"), texts);
            File.WriteAllLines(Path.Combine(work, "ood.jsonl"), texts.Select(t => $$"""{"text":"{{t}}","label":"cohere"}"""));
            File.WriteAllLines(Path.Combine(work, "known.jsonl"), texts.Select((t, i) => $$"""{"text":"{{t}}","label":"{{(i % 2 == 0 ? "human" : "gpt2")}}"}"""));

            await using (var ood = ServiceProcess.Start(null, work, "eval-detector", "--model", "detector", "--data", "ood.jsonl", "--device", "cpu"))
            {
                Assert.Equal(1, await ood.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("no text in ood.jsonl has a label among the detector's classes (human, gpt2); its labels are: cohere", ood.Errors);
                Assert.DoesNotContain("accuracy", ood.Output);
            }
            await using (var known = ServiceProcess.Start(null, work, "eval-detector", "--model", "detector", "--data", "known.jsonl", "--device", "cpu"))
            {
                Assert.Equal(0, await known.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("texts scored: 3", known.Output);
                Assert.True(File.Exists(Path.Combine(work, "detector", "eval", "confusion-matrix.png")), known.Output + known.Errors);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
