namespace GanBertBots.Training.Rounds;

/// <summary>Step 5: told after a promotion, so the running service swaps its model handles without a restart.</summary>
public interface IModelHotSwap
{
    /// <param name="modelName"><see cref="ModelNames.Generator"/> or <see cref="ModelNames.Detector"/>.</param>
    /// <param name="version">The version now live.</param>
    /// <param name="directory">Its checkpoint folder in the registry.</param>
    Task SwapAsync(string modelName, string version, string directory, CancellationToken cancellation);
}
