namespace GanBertBots.Models.GanBert;

/// <summary>
/// Where the serving detector comes from (appsettings.json section "Detector", or environment
/// variables such as GANBERTBOTS_Detector__ModelDirectory).
/// </summary>
public sealed class DetectorOptions
{
    public const string Section = "Detector";

    /// <summary>A trained detector directory (config.json, model.safetensors, vocab.txt), as written by train-detector.</summary>
    public string ModelDirectory { get; set; } = "models/detector";
    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>auto, float32, float16 or bfloat16 (half precision on CUDA only).</summary>
    public string DType { get; set; } = "auto";
    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; set; } = 32;
}
