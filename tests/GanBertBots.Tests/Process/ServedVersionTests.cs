
namespace GanBertBots.Tests.Process;

/// <summary>
/// One owner of what is served, seen from outside: the registry's live version is what the real executable serves at
/// start, a rollback from the CLI reaches the running service within the follow interval, and a restart keeps it.
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class ServedVersionTests
{
    [Fact]
    public async Task The_service_serves_the_registry_live_version_follows_a_CLI_rollback_and_keeps_it_after_a_restart()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-served-").FullName;
        try
        {
            string[] texts = ["a flood took the bridge", "wildfire near the town", "people evacuated after the storm"];
            TinyRoundModels.Detector(Path.Combine(work, "d1"), texts);
            TinyRoundModels.Detector(Path.Combine(work, "d2"), texts);
            await ServiceProcess.RunCliOkAsync(work, null, "models", "register", "detector", "d1", "--promote");
            await ServiceProcess.RunCliOkAsync(work, null, "models", "register", "detector", "d2");
            await ServiceProcess.RunCliOkAsync(work, null, "models", "promote", "detector", "v0002");

            var env = new Dictionary<string, string> { ["Retraining__FollowInterval"] = "00:00:00.500", ["Retraining__Store"] = "memory" };
            await using (var service = ServiceProcess.Start(env, work))
            {
                await service.WaitForOutputAsync("Type /help for the commands");
                service.Type("/stats");
                await service.WaitForOutputAsync("Detector: detector v0002");
                Assert.DoesNotContain("Detector: not loaded", service.Output);

                await ServiceProcess.RunCliOkAsync(work, null, "models", "rollback", "detector");
                int asked = 1;
                await service.WaitUntilAsync(() =>
                {
                    if (service.Output.Contains("Detector: detector v0001")) return true;
                    if (ServiceOutputCount(service.Output, "Detector: ") >= asked) { service.Type("/stats"); asked++; }
                    return false;
                }, "/stats naming detector v0001 after the rollback", TimeSpan.FromSeconds(30));
                Assert.Equal(0, (await service.TerminateAsync()).ExitCode);
            }
            await using (var restarted = ServiceProcess.Start(env, work))
            {
                await restarted.WaitForOutputAsync("Type /help for the commands");
                restarted.Type("/stats");
                await restarted.WaitForOutputAsync("Detector: detector v0001");
                Assert.Equal(0, (await restarted.TerminateAsync()).ExitCode);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static int ServiceOutputCount(string output, string text) => output.Split(text).Length - 1;
}
