using GanBertBots.Inference;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Rounds;

namespace GanBertBots.Host.Retraining;

/// <summary>
/// Puts a newly live registry version into the running inference service without a restart: the
/// checkpoint is loaded first (a load failure leaves the old model serving), then the handle swapped. The model is served
/// under its registry name ("detector v0002"): /stats, predictions and generated texts name the version truthfully.
/// </summary>
public sealed class InferenceHotSwap(InferenceService inference, InferenceOptions options, BaseEncoderFolders? encoders = null) : IModelHotSwap
{
    public async Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation)
    {
        var placement = TorchPlacement.Resolve(options.Device, options.DType);
        switch (modelName)
        {
            case ModelNames.Generator:
                await inference.SwapGenerator(Gpt2TweetModel.Load(directory, placement, $"{modelName} {version}"));
                break;
            case ModelNames.Detector:
                await inference.SwapDetector(GanBertDetectorModel.Load(directory, placement, $"{modelName} {version}", encoders?.Directories));
                break;
            default:
                throw new ArgumentException($"no served model is called '{modelName}'");
        }
    }
}
