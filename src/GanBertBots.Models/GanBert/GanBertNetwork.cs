using GanBertBots.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// The whole GAN-BERT model: a BERT-family encoder (or the small backbone), the discriminator
/// head over its pooled output, and the generator that imitates that output.
/// </summary>
public sealed class GanBertNetwork : nn.Module<Tensor, Tensor, (Tensor Features, Tensor Logits)>
{
    readonly BertEncoder encoder;
    readonly GanBertDiscriminator discriminator;
    readonly GanBertGenerator generator;

    public BertEncoder Encoder => encoder;
    public GanBertDiscriminator Discriminator => discriminator;
    public GanBertGenerator Generator => generator;

    public GanBertNetwork(BertEncoder encoder, int classes, double headDropout = 0.1) : base(nameof(GanBertNetwork))
    {
        int h = encoder.Config.HiddenSize;
        this.encoder = encoder;
        discriminator = new GanBertDiscriminator(h, h, classes, headDropout);
        generator = new GanBertGenerator(h, h, headDropout);
        RegisterComponents();
    }

    /// <summary>Parameters the discriminator's optimiser moves: the encoder and the discriminator.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> DiscriminatorSide() => encoder.parameters().Concat(discriminator.parameters());

    /// <summary>Parameters the generator's optimiser moves.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> GeneratorSide() => generator.parameters();

    /// <summary>ids [B, T], attentionMask [B, T] -> (features [B, H], logits [B, k+1]).</summary>
    public override (Tensor Features, Tensor Logits) forward(Tensor ids, Tensor attentionMask) =>
        discriminator.forward(encoder.forward(ids, attentionMask));
}
