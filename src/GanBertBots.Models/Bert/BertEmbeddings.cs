using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// Token vectors in: word + position (+ token type) embeddings, then LayerNorm and dropout.
/// DistilBERT has no token types (<see cref="BertConfig.TypeVocabSize"/> = 0).
/// </summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor?, Tensor>
{
    readonly Embedding word_embeddings;      // [V, H]
    readonly Embedding position_embeddings;  // [P, H]
    readonly Embedding? token_type_embeddings; // [2, H] (BERT), absent (DistilBERT)
    readonly LayerNorm norm;
    readonly Dropout dropout;

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize);
        position_embeddings = nn.Embedding(c.MaxPositions, c.HiddenSize);
        if (c.TypeVocabSize > 0) token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    /// <summary>Word vectors alone: ids [B, T] -> [B, T, H]. Kept separate so explanations can take gradients with respect to them.</summary>
    public Tensor Words(Tensor ids) => word_embeddings.forward(ids);

    /// <param name="words">[B, T, H] word vectors (from <see cref="Words"/>).</param>
    /// <param name="tokenTypes">[B, T] segment ids, or null for all zeros.</param>
    /// <returns>[B, T, H]</returns>
    public override Tensor forward(Tensor words, Tensor? tokenTypes)
    {
        long t = words.shape[1];
        using var positions = arange(t, dtype: ScalarType.Int64, device: words.device);  // [T]
        var x = words + position_embeddings.forward(positions);                          // [B, T, H] + [T, H]
        if (token_type_embeddings is not null)
        {
            if (tokenTypes is null)
            {
                using var zero = zeros(1, dtype: ScalarType.Int64, device: words.device);
                x = x + token_type_embeddings.forward(zero);                                // + [1, H]
            }
            else x = x + token_type_embeddings.forward(tokenTypes);                        // + [B, T, H]
        }
        return dropout.forward(norm.forward(x));
    }
}
