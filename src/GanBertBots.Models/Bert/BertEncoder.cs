using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// A BERT-family encoder: embeddings, N post-LN layers, and one vector per text
/// (BERT's pooler, DistilBERT's [CLS] state, or the mean over tokens for the small backbone).
/// Parameter names are ours; <see cref="BertWeights"/> maps them to Hugging Face names.
/// </summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertEmbeddings embeddings;
    readonly ModuleList<BertLayer> layers;
    readonly BertPooler? pooler;

    public BertConfig Config { get; }

    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        config.Validate("encoder config");
        Config = config;
        embeddings = new BertEmbeddings(config);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new BertLayer(config)).ToArray());
        if (config.Pooling == Pooling.Pooler) pooler = new BertPooler(config);
        RegisterComponents();
        InitialiseLikeBert();
        foreach (var (_, module) in named_modules())
            if (module is BertAdapter adapter) adapter.StartAsIdentity();
    }

    /// <summary>BERT's initializer_range: the standard deviation of every embedding and dense weight at initialisation.</summary>
    public const double InitializerRange = 0.02;

    /// <summary>
    /// BERT's initialisation (Hugging Face <c>_init_weights</c>): embedding and dense weights N(0, 0.02), biases 0,
    /// LayerNorm weight 1 and bias 0. It matters for the small backbone trained from scratch: with torch's default
    /// N(0, 1) embeddings, AdamW's steps of about lr each barely move the 3.9M embedding weights (which carry the
    /// lexical signal) in a few hundred steps, and at learning rates high enough to move them the post-LN encoder
    /// collapses to predicting one class. Pretrained encoders overwrite all of this when their weights are loaded.
    /// </summary>
    void InitialiseLikeBert()
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Linear linear:
                    linear.weight!.normal_(0, InitializerRange);
                    linear.bias?.zero_();
                    break;
                case Embedding embedding:
                    embedding.weight!.normal_(0, InitializerRange);
                    break;
                case LayerNorm norm:
                    norm.weight!.fill_(1);
                    norm.bias!.zero_();
                    break;
            }
        }
    }

    /// <summary>ids [B, T] -> word vectors [B, T, H].</summary>
    public Tensor Words(Tensor ids) => embeddings.Words(ids);

    /// <summary>All hidden states. words [B, T, H], attentionMask [B, T] (1 real, 0 padding) -> [B, T, H].</summary>
    public Tensor Hidden(Tensor words, Tensor attentionMask, Tensor? tokenTypes = null)
    {
        if (words.shape[1] > Config.MaxPositions)
            throw new ArgumentException($"sequence of {words.shape[1]} tokens is longer than the encoder's {Config.MaxPositions} positions");
        using var padding = attentionMask.eq(0).view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]); // [B, 1, 1, T]
        var x = embeddings.forward(words, tokenTypes);
        foreach (var layer in layers) x = layer.forward(x, padding);
        return x;
    }

    /// <summary>One vector per text: hidden [B, T, H], attentionMask [B, T] -> [B, H].</summary>
    public Tensor Pool(Tensor hidden, Tensor attentionMask) => Config.Pooling switch
    {
        Pooling.Pooler => pooler!.forward(hidden),
        Pooling.Cls => hidden.select(1, 0),
        _ => MeanOverTokens(hidden, attentionMask),
    };

    static Tensor MeanOverTokens(Tensor hidden, Tensor attentionMask)
    {
        var m = attentionMask.unsqueeze(-1).to(hidden.dtype);        // [B, T, 1]
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1);            // [B, H]
    }

    /// <summary>ids [B, T], attentionMask [B, T] -> pooled [B, H].</summary>
    public override Tensor forward(Tensor ids, Tensor attentionMask) =>
        Pool(Hidden(Words(ids), attentionMask), attentionMask);
}
