using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// GAN-BERT's discriminator: Dropout -> Linear(H, H) -> LeakyReLU(0.2) -> Dropout -> Linear(H, k+1).
/// The hidden activation is the feature f used for feature matching; the last logit is "fake".
/// </summary>
public sealed class GanBertDiscriminator : nn.Module<Tensor, (Tensor Features, Tensor Logits)>
{
    readonly Dropout input_dropout;
    readonly Linear hidden;     // [H -> H]
    readonly Dropout dropout;
    readonly Linear classifier; // [H -> k+1]

    /// <summary>k, the number of real classes (the fake logit is index k).</summary>
    public int Classes { get; }

    public GanBertDiscriminator(int inputSize, int hiddenSize, int classes, double dropoutRate = 0.1) : base(nameof(GanBertDiscriminator))
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "a detector needs at least two classes");
        Classes = classes;
        input_dropout = nn.Dropout(dropoutRate);
        hidden = nn.Linear(inputSize, hiddenSize);
        dropout = nn.Dropout(dropoutRate);
        classifier = nn.Linear(hiddenSize, classes + 1);
        RegisterComponents();
    }

    /// <summary>x [N, H] -> (features f [N, H], logits [N, k+1]).</summary>
    public override (Tensor Features, Tensor Logits) forward(Tensor x)
    {
        var f = nn.functional.leaky_relu(hidden.forward(input_dropout.forward(x)), 0.2);
        return (f, classifier.forward(dropout.forward(f)));
    }
}
