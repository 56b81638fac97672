using GanBertBots.Models.Generation;
using GanBertBots.Models.Gpt2;
using TorchSharp;

namespace GanBertBots.Tests.Process;

/// <summary>
/// A checkpoint whose weights hold NaN (a diverged or damaged training run): refused at register, at load by the CLI,
/// with the tensor named, and never a native abort (issue 16 item 8).
/// </summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class DamagedCheckpointTests
{
    [Fact]
    public async Task A_checkpoint_with_NaN_weights_is_refused_at_register_and_at_load_naming_the_tensor()
    {
        string work = Directory.CreateTempSubdirectory("ganbertbots-nan-").FullName;
        try
        {
            string dir = TinyRoundModels.Generator(Path.Combine(work, "nan-gpt2"), seed: 5);
            using (var model = Gpt2Checkpoint.Load(dir))
            {
                using (torch.no_grad())
                    model.parameters().First().index_put_(torch.tensor(double.NaN), torch.tensor(0L));
                Gpt2Checkpoint.Save(model, dir);
            }
            var failure = Assert.Throws<GanBertBots.Models.CheckpointException>(() => TextGenerator.Load(dir, GanBertBots.Models.Runtime.TorchPlacement.Cpu));
            Assert.Contains("non-finite", failure.Message);

            await using (var register = ServiceProcess.Start(null, work, "models", "register", "generator", "nan-gpt2", "--promote"))
            {
                Assert.NotEqual(0, await register.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("non-finite values", register.Errors + register.Output);
                Assert.False(Directory.Exists(Path.Combine(work, "models", "registry", "generator", "v0001")), "the damaged checkpoint was registered");
            }
            await using (var generate = ServiceProcess.Start(null, work, "generate", "--model", "nan-gpt2", "--prompt-ids", "1,2,3"))
            {
                Assert.Equal(1, await generate.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("non-finite values", generate.Errors);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
