using static TorchSharp.torch;

namespace GanBertBots.Models.Gpt2;

/// <summary>
/// A read-only view of a <see cref="Gpt2LMHeadModel"/>'s weights, from <see cref="Gpt2LMHeadModel.Weights"/>:
/// the model's own tensors (not copies), named by what they are, with the state-dict name of each in its
/// comment. It is a snapshot of which tensors the model holds: moving the model (<c>to(...)</c>) replaces
/// them, so take a new view after that. What reads it must not write through it.
/// </summary>
/// <param name="TokenEmbedding">wte.weight [V, C].</param>
/// <param name="PositionEmbedding">wpe.weight [P, C].</param>
/// <param name="Blocks">h.0 .. h.{L-1}.</param>
/// <param name="FinalNorm">ln_f.</param>
/// <param name="Head">The output projection [V, C]: lm_head when the model unties it, else <paramref name="TokenEmbedding"/> itself.</param>
public sealed record Gpt2Weights(Tensor TokenEmbedding, Tensor PositionEmbedding, IReadOnlyList<Gpt2BlockWeights> Blocks,
                                 NormWeights FinalNorm, Tensor Head)
{
    /// <summary>Whether the head is the token embedding (GPT-2's tied head).</summary>
    public bool HeadIsTied => ReferenceEquals(Head, TokenEmbedding);

    /// <summary>Every tensor of the view once (a tied head counted once).</summary>
    public IEnumerable<Tensor> All()
    {
        yield return TokenEmbedding;
        yield return PositionEmbedding;
        foreach (var b in Blocks)
            foreach (var t in b.All()) yield return t;
        yield return FinalNorm.Weight;
        yield return FinalNorm.Bias;
        if (!HeadIsTied) yield return Head;
    }
}

/// <summary>One block's weights (h.N).</summary>
/// <param name="Norm1">ln_1.</param>
/// <param name="Qkv">attn.c_attn: [3C, C] query, key and value in one projection.</param>
/// <param name="AttentionOutput">attn.c_proj: [C, C].</param>
/// <param name="AttentionScale">What attention scores are multiplied by (not a weight, but the layer's own constant).</param>
/// <param name="Norm2">ln_2.</param>
/// <param name="MlpUp">mlp.c_fc: [inner, C].</param>
/// <param name="MlpDown">mlp.c_proj: [C, inner].</param>
public sealed record Gpt2BlockWeights(NormWeights Norm1, LinearWeights Qkv, LinearWeights AttentionOutput, double AttentionScale,
                                      NormWeights Norm2, LinearWeights MlpUp, LinearWeights MlpDown)
{
    public IEnumerable<Tensor> All() =>
        [Norm1.Weight, Norm1.Bias, Qkv.Weight, Qkv.Bias, AttentionOutput.Weight, AttentionOutput.Bias,
         Norm2.Weight, Norm2.Bias, MlpUp.Weight, MlpUp.Bias, MlpDown.Weight, MlpDown.Bias];
}

/// <summary>A projection y = x Wᵀ + b: <paramref name="Weight"/> [out, in] (nn.Linear's layout), <paramref name="Bias"/> [out].</summary>
public readonly record struct LinearWeights(Tensor Weight, Tensor Bias);

/// <summary>A LayerNorm's scale and shift, [C] each.</summary>
public readonly record struct NormWeights(Tensor Weight, Tensor Bias);
