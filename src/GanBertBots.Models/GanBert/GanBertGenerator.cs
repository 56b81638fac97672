using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// GAN-BERT's generator: noise z ~ U(0,1)^100 -> Linear(hidden) -> LeakyReLU(0.2) -> Dropout ->
/// Linear(hidden); no output activation. It produces fake "encoder outputs" for the discriminator.
/// </summary>
public sealed class GanBertGenerator : nn.Module<Tensor, Tensor>
{
    public const int NoiseSize = 100;

    readonly Linear hidden;  // [100 -> H]
    readonly Dropout dropout;
    readonly Linear output;  // [H -> H]

    public int OutputSize { get; }

    public GanBertGenerator(int outputSize, int hiddenSize, double dropoutRate = 0.1) : base(nameof(GanBertGenerator))
    {
        OutputSize = outputSize;
        hidden = nn.Linear(NoiseSize, hiddenSize);
        dropout = nn.Dropout(dropoutRate);
        output = nn.Linear(hiddenSize, outputSize);
        RegisterComponents();
    }

    /// <summary>z [N, 100] -> fake representations [N, H].</summary>
    public override Tensor forward(Tensor z) =>
        output.forward(dropout.forward(nn.functional.leaky_relu(hidden.forward(z), 0.2)));

    /// <summary>n fake representations from fresh U(0,1) noise.</summary>
    public Tensor Sample(long n, Generator? rng = null)
    {
        var device = output.weight!.device;
        using var z = rand(new[] { n, (long)NoiseSize }, dtype: output.weight!.dtype, device: device, generator: rng);
        return forward(z);
    }
}
