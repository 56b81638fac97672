using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// One post-LN transformer layer: x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x)).
/// GELU is the exact erf form, as in BERT's "gelu".
/// </summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertSelfAttention attention;
    readonly LayerNorm attention_norm;
    readonly Linear intermediate; // [H -> I]
    readonly Linear output;       // [I -> H]
    readonly LayerNorm output_norm;
    readonly Dropout dropout;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = new BertSelfAttention(c);
        attention_norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        intermediate = nn.Linear(c.HiddenSize, c.IntermediateSize);
        output = nn.Linear(c.IntermediateSize, c.HiddenSize);
        output_norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    /// <param name="x">[B, T, H]</param>
    /// <param name="padding">[B, 1, 1, T] bool, true on padding keys.</param>
    /// <returns>[B, T, H]</returns>
    public override Tensor forward(Tensor x, Tensor padding)
    {
        x = attention_norm.forward(x + dropout.forward(attention.forward(x, padding)));
        var h = output.forward(nn.functional.gelu(intermediate.forward(x)));
        return output_norm.forward(x + dropout.forward(h));
    }
}
