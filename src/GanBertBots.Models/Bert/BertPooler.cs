using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>BERT's pooler: tanh(Linear(h[CLS])). [B, T, H] -> [B, H].</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    readonly Linear dense; // [H, H]

    public BertPooler(BertConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden) => dense.forward(hidden.select(1, 0)).tanh();
}
