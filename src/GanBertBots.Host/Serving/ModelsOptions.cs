namespace GanBertBots.Host.Serving;

/// <summary>Configuration section "Models": the checkpoint directories the service serves.</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";
    /// <summary>The detector's folder before Models:Detector existed; still read (it wins when set), with a warning.</summary>
    public const string RetiredDetectorKey = "Detector:ModelDirectory";
    /// <summary>GPT-2 checkpoint (config.json, model.safetensors, vocab.json + merges.txt or encoder.json + vocab.bpe).</summary>
    public string Generator { get; set; } = "models/gpt2";
    /// <summary>Trained GAN-BERT detector (config.json, model.safetensors, vocab.txt).</summary>
    public string Detector { get; set; } = "models/detector";

    public static void Validate(ModelsOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Generator)) throw new ArgumentException("Models:Generator must name a folder (default models/gpt2)");
        if (string.IsNullOrWhiteSpace(options.Detector)) throw new ArgumentException("Models:Detector must name a folder (default models/detector)");
    }
}
