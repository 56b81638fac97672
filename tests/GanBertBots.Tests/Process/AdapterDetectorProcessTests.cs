using GanBertBots.Testing;
using GanBertBots.Tests.Detector;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Process;

/// <summary>
/// An adapter detector stores only its adapters and head, and names the encoder it was trained on. A user who keeps their
/// encoders in another models folder (Hub:ModelsDirectory) gets the detector served from there: the service looks in the
/// configured folder, not only in models/.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class AdapterDetectorProcessTests
{
    [Fact]
    public async Task The_service_finds_an_adapter_detectors_encoder_in_the_configured_models_folder()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-adapter-serve-").FullName;
        try
        {
            // Trained against training/tiny-bert; the encoder then moves to shelf/, the folder the service is told about.
            string bert = new TinyBert(distil: false, seed: 9).SaveWithVocabulary(Path.Combine(work, "training", "tiny-bert"));
            DetectorData.WriteJsonl(Path.Combine(work, "texts.jsonl"), SyntheticDetector.Rows(24, seed: 3));
            await ServiceProcess.RunCliOkAsync(work, null, "train-detector", "--data", "texts.jsonl", "--backbone", "bert", "training/tiny-bert",
                "--adapters", "4", "--out", "models/detector", "--epochs", "1", "--batch-size", "4", "--max-length", "16",
                "--threads", "1", "--device", "cpu", "--force");
            Directory.CreateDirectory(Path.Combine(work, "shelf"));
            Directory.Move(bert, Path.Combine(work, "shelf", "tiny-bert"));
            Directory.Delete(Path.Combine(work, "training"));

            // Without the setting the encoder is nowhere the service looks: it says so and serves no detector.
            var environment = new Dictionary<string, string> { ["Retraining__Enabled"] = "false" };
            await using (var lost = ServiceProcess.Start(environment, work))
            {
                await lost.WaitForOutputAsync("Type /help for the commands");
                await lost.WaitForErrorAsync("its base encoder 'training/tiny-bert' was not found");
                Assert.Equal(0, (await lost.TerminateAsync(TimeSpan.FromSeconds(30))).ExitCode);
            }

            environment["Hub__ModelsDirectory"] = "shelf";
            await using var service = ServiceProcess.Start(environment, work);
            await service.WaitForOutputAsync("Type /help for the commands");
            service.Type("/detect apple river stone and the quiet horse");
            await service.WaitForOutputAsync("Most likely writer");
            Assert.Contains("Verdict:", service.Output);
            Assert.DoesNotContain("not found", service.Errors);

            Assert.Equal(0, (await service.TerminateAsync(TimeSpan.FromSeconds(30))).ExitCode);
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
