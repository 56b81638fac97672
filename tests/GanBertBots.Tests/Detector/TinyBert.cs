using System.Text.Json.Nodes;
using GanBertBots.Models.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Detector;

/// <summary>
/// A tiny random BERT or DistilBERT checkpoint written by the test in Hugging Face naming, plus
/// a plain-array reference forward pass (loops in double precision, no torch) to check our
/// TorchSharp encoder against.
/// </summary>
sealed class TinyBert
{
    public const int Vocab = 23, Hidden = 8, Heads = 2, Intermediate = 12, Positions = 16, Layers = 2;
    public const double Eps = 1e-12;

    public bool Distil { get; }
    /// <summary>HF name (without model prefix) -> (values, shape).</summary>
    public Dictionary<string, (float[] Data, long[] Shape)> Weights { get; } = new();

    public TinyBert(bool distil, int seed)
    {
        Distil = distil;
        var rng = new Random(seed);
        void Add(string name, params long[] shape)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            bool norm = name.Contains("LayerNorm") || name.Contains("layer_norm");
            var data = new float[n];
            for (int i = 0; i < n; i++)
                data[i] = norm && name.EndsWith("weight") ? 1f + (float)(rng.NextDouble() - 0.5) * 0.4f : (float)(rng.NextDouble() * 2 - 1) * 0.5f;
            Weights[name] = (data, shape);
        }
        Add("embeddings.word_embeddings.weight", Vocab, Hidden);
        Add("embeddings.position_embeddings.weight", Positions, Hidden);
        if (!distil) Add("embeddings.token_type_embeddings.weight", 2, Hidden);
        Add("embeddings.LayerNorm.weight", Hidden);
        Add("embeddings.LayerNorm.bias", Hidden);
        for (int l = 0; l < Layers; l++)
        {
            foreach (var (name, o, i) in LayerLinears(l)) { Add(name + ".weight", o, i); Add(name + ".bias", o); }
            foreach (var name in LayerNorms(l)) { Add(name + ".weight", Hidden); Add(name + ".bias", Hidden); }
        }
        if (!distil) { Add("pooler.dense.weight", Hidden, Hidden); Add("pooler.dense.bias", Hidden); }
    }

    string L(int l) => Distil ? $"transformer.layer.{l}." : $"encoder.layer.{l}.";
    string Q(int l) => L(l) + (Distil ? "attention.q_lin" : "attention.self.query");
    string K(int l) => L(l) + (Distil ? "attention.k_lin" : "attention.self.key");
    string V(int l) => L(l) + (Distil ? "attention.v_lin" : "attention.self.value");
    string O(int l) => L(l) + (Distil ? "attention.out_lin" : "attention.output.dense");
    string N1(int l) => L(l) + (Distil ? "sa_layer_norm" : "attention.output.LayerNorm");
    string F1(int l) => L(l) + (Distil ? "ffn.lin1" : "intermediate.dense");
    string F2(int l) => L(l) + (Distil ? "ffn.lin2" : "output.dense");
    string N2(int l) => L(l) + (Distil ? "output_layer_norm" : "output.LayerNorm");

    IEnumerable<(string, long, long)> LayerLinears(int l) =>
    [
        (Q(l), Hidden, Hidden), (K(l), Hidden, Hidden), (V(l), Hidden, Hidden), (O(l), Hidden, Hidden),
        (F1(l), Intermediate, Hidden), (F2(l), Hidden, Intermediate),
    ];
    IEnumerable<string> LayerNorms(int l) => [N1(l), N2(l)];

    public JsonObject Config() => Distil
        ? new JsonObject
        {
            ["model_type"] = "distilbert", ["vocab_size"] = Vocab, ["dim"] = Hidden, ["n_layers"] = Layers, ["n_heads"] = Heads,
            ["hidden_dim"] = Intermediate, ["max_position_embeddings"] = Positions, ["activation"] = "gelu",
        }
        : new JsonObject
        {
            ["model_type"] = "bert", ["vocab_size"] = Vocab, ["hidden_size"] = Hidden, ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads, ["intermediate_size"] = Intermediate, ["max_position_embeddings"] = Positions,
            ["type_vocab_size"] = 2, ["layer_norm_eps"] = Eps, ["hidden_act"] = "gelu",
        };

    /// <summary>The 23 tokens of <see cref="Vocab"/>: the five specials, then the synthetic detector's human and machine words.</summary>
    public static IEnumerable<string> Vocabulary => new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
        .Concat(GanBertBots.Testing.SyntheticDetector.HumanWords).Concat(GanBertBots.Testing.SyntheticDetector.MachineWords).Concat(["the", "and"]);

    /// <summary><see cref="Save"/> plus a vocab.txt of <see cref="Vocabulary"/>: a Hugging Face encoder folder train-detector loads.</summary>
    public string SaveWithVocabulary(string dir)
    {
        Save(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Vocabulary);
        return dir;
    }

    /// <summary>Writes config.json + model.safetensors. <paramref name="rename"/> maps HF names to stored names (prefix, gamma/beta...); null drops a tensor.</summary>
    public string Save(string dir, Func<string, string?>? rename = null, Func<string, long[], long[]>? reshape = null)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), Config().ToJsonString());
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, (data, shape)) in Weights)
        {
            string? stored = rename is null ? name : rename(name);
            if (stored is null) continue;
            var s = reshape?.Invoke(name, shape) ?? shape;
            long n = s.Aggregate(1L, (a, b) => a * b);
            var values = n == data.Length ? data : new float[n];
            tensors.Add(new(stored, tensor(values, s)));
        }
        // A head the encoder must ignore, as in real task checkpoints.
        tensors.Add(new("cls.predictions.bias", tensor(new float[Vocab])));
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        foreach (var t in tensors) t.Value.Dispose();
        return dir;
    }

    // ---- the reference: plain loops in double precision ----

    double W(string name, int i) => Weights[name].Data[i];

    double[] Linear(string name, double[] x)
    {
        var (w, shape) = Weights[name + ".weight"];
        int outDim = (int)shape[0], inDim = (int)shape[1];
        var y = new double[outDim];
        for (int o = 0; o < outDim; o++)
        {
            double s = W(name + ".bias", o);
            for (int i = 0; i < inDim; i++) s += w[o * inDim + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    double[] LayerNorm(string name, double[] x)
    {
        double mean = x.Average();
        double var = x.Select(v => (v - mean) * (v - mean)).Average();
        return x.Select((v, i) => (v - mean) / Math.Sqrt(var + Eps) * W(name + ".weight", i) + W(name + ".bias", i)).ToArray();
    }

    /// <summary>erf by its Maclaurin series (|x| &lt; 4); beyond that erf is ±1 to within 2e-8.</summary>
    public static double Erf(double x)
    {
        if (Math.Abs(x) >= 4) return Math.Sign(x);
        double sum = 0, term = x; // term = (-1)^n x^(2n+1) / n!
        for (int n = 0; n < 80; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>Hidden states [T][H] of one unpadded text (token types all 0).</summary>
    public double[][] HiddenStates(int[] ids)
    {
        int t = ids.Length, hs = Hidden / Heads;
        var x = new double[t][];
        for (int p = 0; p < t; p++)
        {
            var e = new double[Hidden];
            for (int h = 0; h < Hidden; h++)
            {
                e[h] = W("embeddings.word_embeddings.weight", ids[p] * Hidden + h) + W("embeddings.position_embeddings.weight", p * Hidden + h);
                if (!Distil) e[h] += W("embeddings.token_type_embeddings.weight", h);
            }
            x[p] = LayerNorm("embeddings.LayerNorm", e);
        }
        for (int l = 0; l < Layers; l++)
        {
            var q = x.Select(v => Linear(Q(l), v)).ToArray();
            var k = x.Select(v => Linear(K(l), v)).ToArray();
            var v = x.Select(r => Linear(V(l), r)).ToArray();
            var attended = new double[t][];
            for (int i = 0; i < t; i++)
            {
                attended[i] = new double[Hidden];
                for (int head = 0; head < Heads; head++)
                {
                    var scores = new double[t];
                    for (int j = 0; j < t; j++)
                    {
                        double s = 0;
                        for (int d = 0; d < hs; d++) s += q[i][head * hs + d] * k[j][head * hs + d];
                        scores[j] = s / Math.Sqrt(hs);
                    }
                    double max = scores.Max();
                    var ex = scores.Select(s => Math.Exp(s - max)).ToArray();
                    double z = ex.Sum();
                    for (int j = 0; j < t; j++)
                        for (int d = 0; d < hs; d++) attended[i][head * hs + d] += ex[j] / z * v[j][head * hs + d];
                }
            }
            for (int i = 0; i < t; i++)
            {
                var a = Linear(O(l), attended[i]);
                var r1 = LayerNorm(N1(l), x[i].Select((xv, h) => xv + a[h]).ToArray());
                var f = Linear(F2(l), Linear(F1(l), r1).Select(Gelu).ToArray());
                x[i] = LayerNorm(N2(l), r1.Select((xv, h) => xv + f[h]).ToArray());
            }
        }
        return x;
    }

    /// <summary>The text's vector: BERT's pooler tanh(W h[CLS] + b), or DistilBERT's h[CLS].</summary>
    public double[] Pooled(int[] ids)
    {
        var cls = HiddenStates(ids)[0];
        return Distil ? cls : Linear("pooler.dense", cls).Select(Math.Tanh).ToArray();
    }
}
