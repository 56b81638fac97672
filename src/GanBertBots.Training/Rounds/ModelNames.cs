namespace GanBertBots.Training.Rounds;

/// <summary>Names of the two models in the registry.</summary>
public static class ModelNames
{
    public const string Generator = "generator";
    public const string Detector = "detector";
}
