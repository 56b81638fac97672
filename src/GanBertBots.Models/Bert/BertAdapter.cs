using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Models.Bert;

/// <summary>
/// A Houlsby bottleneck adapter: x + up(gelu(down(x))), with H -> m -> H. The up-projection starts at zero, so a new
/// adapter is the identity and a pretrained encoder with adapters computes exactly what it did without them.
/// </summary>
public sealed class BertAdapter : nn.Module<Tensor, Tensor>
{
    readonly Linear down; // [H -> m]
    readonly Linear up;   // [m -> H]

    public BertAdapter(int hiddenSize, int bottleneck) : base(nameof(BertAdapter))
    {
        down = nn.Linear(hiddenSize, bottleneck);
        up = nn.Linear(bottleneck, hiddenSize);
        RegisterComponents();
        StartAsIdentity();
    }

    /// <summary>Up-projection (weight and bias) to zero: the adapter passes its input through unchanged.</summary>
    public void StartAsIdentity()
    {
        using var noGrad = no_grad();
        up.weight!.zero_();
        up.bias!.zero_();
    }

    /// <summary>x [B, T, H] -> [B, T, H].</summary>
    public override Tensor forward(Tensor x) => x + up.forward(nn.functional.gelu(down.forward(x)));
}
