using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// One post-LN transformer layer: x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x)). With adapters
/// (<see cref="BertConfig.AdapterSize"/> &gt; 0) each sublayer's output passes a <see cref="BertAdapter"/> before the residual.
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
    readonly BertAdapter? attention_adapter; // after the attention's output projection (adapters only)
    readonly BertAdapter? output_adapter;    // after the feed-forward output (adapters only)

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = new BertSelfAttention(c);
        attention_norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        intermediate = nn.Linear(c.HiddenSize, c.IntermediateSize);
        output = nn.Linear(c.IntermediateSize, c.HiddenSize);
        output_norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.Dropout);
        if (c.AdapterSize > 0)
        {
            attention_adapter = new BertAdapter(c.HiddenSize, c.AdapterSize);
            output_adapter = new BertAdapter(c.HiddenSize, c.AdapterSize);
        }
        RegisterComponents();
    }

    /// <param name="x">[B, T, H]</param>
    /// <param name="padding">[B, 1, 1, T] bool, true on padding keys.</param>
    /// <returns>[B, T, H]</returns>
    public override Tensor forward(Tensor x, Tensor padding)
    {
        var a = dropout.forward(attention.forward(x, padding));
        if (attention_adapter is not null) a = attention_adapter.forward(a);   // Houlsby: before the residual LayerNorm
        x = attention_norm.forward(x + a);
        var h = dropout.forward(output.forward(nn.functional.gelu(intermediate.forward(x))));
        if (output_adapter is not null) h = output_adapter.forward(h);
        return output_norm.forward(x + h);
    }
}
