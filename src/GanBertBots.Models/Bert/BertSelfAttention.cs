using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// Multi-head self-attention over all tokens (bidirectional), padded keys masked out,
/// followed by the output projection. Hugging Face: attention.self.{query,key,value} +
/// attention.output.dense (BERT), attention.{q,k,v,out}_lin (DistilBERT).
/// </summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear query, key, value, output; // [H, H] each
    readonly Dropout attn_dropout;
    readonly int heads, headSize;

    public BertSelfAttention(BertConfig c) : base(nameof(BertSelfAttention))
    {
        heads = c.Heads;
        headSize = c.HeadSize;
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        output = nn.Linear(c.HiddenSize, c.HiddenSize);
        attn_dropout = nn.Dropout(c.AttentionDropout);
        RegisterComponents();
    }

    /// <param name="x">[B, T, H]</param>
    /// <param name="padding">[B, 1, 1, T] bool, true where the key is padding.</param>
    /// <returns>[B, T, H]</returns>
    public override Tensor forward(Tensor x, Tensor padding)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Linear proj) => proj.forward(x).view(b, t, heads, headSize).transpose(1, 2); // [B, nh, T, hs]
        var q = Heads(query);
        var k = Heads(key);
        var v = Heads(value);
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(headSize);         // [B, nh, T, T]
        scores = scores.masked_fill(padding, float.NegativeInfinity);
        var p = attn_dropout.forward(scores.softmax(-1));
        var y = p.matmul(v).transpose(1, 2).contiguous().view(b, t, heads * headSize); // [B, T, H]
        return output.forward(y);
    }
}
