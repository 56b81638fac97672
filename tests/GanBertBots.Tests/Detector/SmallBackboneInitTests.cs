using GanBertBots.Models.Bert;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// A freshly built encoder is initialised as BERT is (Hugging Face <c>_init_weights</c>, initializer_range 0.02).
/// Regression: the small backbone used torch's defaults (N(0, 1) embeddings, Kaiming-uniform dense layers) and
/// learned nothing on the real data sets in the steps a CPU run affords (loss stuck at ln 5, majority-class accuracy).
/// </summary>
[Collection(TorchRandomSequence.Name)]
public sealed class SmallBackboneInitTests
{
    [Fact]
    public void Embeddings_and_dense_weights_are_normal_with_std_0_02_biases_zero_layer_norms_identity()
    {
        torch.manual_seed(3);
        using var encoder = new BertEncoder(BertConfig.Small(30522, 128));
        int embeddings = 0, dense = 0, norms = 0;
        foreach (var (name, module) in encoder.named_modules())
        {
            switch (module)
            {
                case Embedding e:
                    AssertNormal(name, e.weight!, BertEncoder.InitializerRange);
                    embeddings++;
                    break;
                case Linear l:
                    AssertNormal(name, l.weight!, BertEncoder.InitializerRange);
                    Assert.Equal(0.0, l.bias!.abs().max().item<float>());
                    dense++;
                    break;
                case LayerNorm n:
                    Assert.Equal(1.0, n.weight!.min().item<float>());
                    Assert.Equal(1.0, n.weight!.max().item<float>());
                    Assert.Equal(0.0, n.bias!.abs().max().item<float>());
                    norms++;
                    break;
            }
        }
        Assert.Equal(3, embeddings);     // word, position, token type
        Assert.Equal(2 * 6, dense);      // per layer: query, key, value, output, intermediate, output
        Assert.Equal(1 + 2 * 2, norms);  // embeddings + two per layer
    }

    static void AssertNormal(string name, Tensor w, double std)
    {
        double mean = w.mean().item<float>(), sd = w.std().item<float>();
        // thousands of draws at least: the sample std is within a few percent of 0.02 (N(0, 1) or Kaiming give 1 or ~0.05)
        Assert.True(Math.Abs(sd - std) < 0.1 * std, $"{name}: std {sd:G4}, expected {std}");
        Assert.True(Math.Abs(mean) < 0.1 * std, $"{name}: mean {mean:G4}, expected 0");
    }
}
