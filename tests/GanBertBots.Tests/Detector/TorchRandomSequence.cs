namespace GanBertBots.Tests.Detector;

/// <summary>
/// For tests whose outcome depends on torch's process-wide random generator (seeded
/// initialisation, dropout in runs compared bit for bit): tests in other classes seed and draw
/// from the same generator when they run in parallel, so this collection runs alone, after the
/// parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomSequence
{
    public const string Name = "torch global random generator, alone";
}
