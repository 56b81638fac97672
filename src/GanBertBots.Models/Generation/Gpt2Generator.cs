using GanBertBots.Models.Gpt2;
using GanBertBots.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Models.Generation;

/// <summary>Which implementation computes the decoding steps (the prompt always runs on torch).</summary>
public enum DecodePath
{
    /// <summary>The CPU kernels (<see cref="Gpt2CpuDecoder"/>) wherever they apply, torch elsewhere.</summary>
    Auto,
    /// <summary>Torch for every step (the reference the CPU kernels are tested against).</summary>
    Torch,
}

/// <summary>
/// Autoregressive generation over token ids with a KV cache. Prompts of different lengths run as
/// one batch: left-padded, with an attention mask and position ids that start at each prompt's
/// first real token, so a padded row computes what the prompt alone would.
/// <para>
/// Each generation runs the prompt through <see cref="Gpt2LMHeadModel.Forward"/>, then takes its decoding
/// steps from one <see cref="IDecodeStep"/> chosen here: the CPU kernels where <see cref="Gpt2CpuDecoder"/>
/// takes the generation, else <see cref="TorchDecodeStep"/>. The generator owns its CPU decoder (and so the
/// decoder's thread team): dispose the generator to end those threads.
/// </para>
/// </summary>
public sealed class Gpt2Generator : IDisposable
{
    readonly Gpt2LMHeadModel _model;
    readonly Gpt2CpuDecoder? _cpu;   // null: every step on torch

    /// <param name="model">The model; not owned.</param>
    /// <param name="path">Whether decoding steps may use the CPU kernels.</param>
    /// <param name="team">
    /// A thread team for the CPU kernels to borrow (the bench shares one with its bandwidth readings); by default
    /// the CPU decoder makes its own on its first step and ends it when the generator is disposed.
    /// </param>
    public Gpt2Generator(Gpt2LMHeadModel model, DecodePath path = DecodePath.Auto, CpuTeam? team = null)
    {
        _model = model;
        _cpu = path == DecodePath.Auto ? new Gpt2CpuDecoder(team) : null;
    }

    /// <summary>How many decoding steps the CPU kernels have computed for this generator (diagnostics and tests).</summary>
    public long CpuDecodedSteps => _cpu?.Steps ?? 0;

    /// <summary>The decoding steps of one generation: the CPU kernels where they take it, else torch.</summary>
    IDecodeStep DecodeStep(KvCache cache) => _cpu?.TryBegin(_model, cache) ?? new TorchDecodeStep(_model, cache);

    /// <summary>Ends the CPU decoder's thread team (the model is not the generator's and stays).</summary>
    public void Dispose() => _cpu?.Dispose();

    public Gpt2Config Config => _model.Config;
    int PadId => Config.PadTokenId ?? Config.EosTokenId;

    /// <param name="prompts">Token ids of each prompt (at least one token each).</param>
    /// <param name="stop">Optional per-row check after each token: (row, generated ids so far) -> stop now.</param>
    /// <param name="onToken">Called for every new token of a live row (sampling and greedy only; beam search reports at the end).</param>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions options,
        Func<int, IReadOnlyList<int>, bool>? stop = null, Action<TokenStep>? onToken = null, CancellationToken cancellation = default)
    {
        options.Validate();
        if (prompts.Count == 0) return Array.Empty<GeneratedSequence>();
        if (options.PromptSeeds is { } promptSeeds && promptSeeds.Count != prompts.Count)
            throw new ArgumentException($"{promptSeeds.Count} prompt seeds for {prompts.Count} prompts: give one per prompt");
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length == 0) throw new ArgumentException($"prompt {i} is empty: generation needs at least one token");
            if (prompts[i].Length + options.MaxNewTokens > Config.MaxPositions)
                throw new ArgumentException($"prompt {i} has {prompts[i].Length} tokens; with {options.MaxNewTokens} new ones that exceeds the model's {Config.MaxPositions} positions");
            foreach (int id in prompts[i])
                if (id < 0 || id >= Config.VocabSize) throw new ArgumentException($"prompt {i} has token id {id}, outside the vocabulary (0..{Config.VocabSize - 1})");
        }
        using var inference = inference_mode();
        return options.NumBeams > 1
            ? BeamSearch(prompts, options, cancellation)
            : Sample(prompts, options, stop, onToken, cancellation);
    }

    // ---- greedy and sampling -------------------------------------------------------------

    IReadOnlyList<GeneratedSequence> Sample(IReadOnlyList<int[]> prompts, GenerationOptions o,
        Func<int, IReadOnlyList<int>, bool>? stop, Action<TokenStep>? onToken, CancellationToken cancellation)
    {
        int n = o.NumReturnSequences;
        int rows = prompts.Count * n;
        var rowPrompts = Enumerable.Range(0, rows).Select(r => prompts[r / n]).ToArray();
        var device = _model.Device;
        int promptLen = rowPrompts.Max(p => p.Length);

        using var outer = NewDisposeScope();
        var (ids, mask, positions) = LeftPad(rowPrompts, promptLen, device);
        using var cache = new KvCache(Config, rows, promptLen + o.MaxNewTokens, device, _model.DType);
        var seen = new SeenTokens(rowPrompts);

        // One generator per row, seeded by its prompt's seed and completion index only, so a prompt's
        // sample with a given seed is the same whether it runs alone or batched with others.
        long seed = o.Seed ?? Random.Shared.NextInt64();
        var generators = Enumerable.Range(0, rows).Select(r => new Generator((ulong)((o.PromptSeeds?[r / n] ?? seed) + r % n))).ToArray();

        var generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var finish = new string?[rows];
        var logProb = new double[rows];

        var logits = _model.Forward(ids, positions, mask, cache, lastOnly: true).squeeze(1);   // the prompt: [R, V]
        var nextPosition = positions.select(1, -1).unsqueeze(1);                               // [R, 1]
        using var decode = DecodeStep(cache);
        for (int step = 0; step < o.MaxNewTokens; step++)
        {
            if (cancellation.IsCancellationRequested) { MarkAll(finish, FinishReason.Cancelled); break; }
            using var scope = NewDisposeScope();
            var (tokens, lp) = Choose(logits, seen, o, generators);
            bool anyLive = false;
            for (int r = 0; r < rows; r++)
            {
                if (finish[r] is not null) { tokens[r] = PadId; continue; }
                int token = (int)tokens[r];
                generated[r].Add(token);
                seen.Add(r, token);
                logProb[r] += lp[r];
                onToken?.Invoke(new TokenStep(r, r / n, token));
                if (o.StopAtEndOfText && token == Config.EosTokenId) finish[r] = FinishReason.EndOfText;
                else if (stop?.Invoke(r, generated[r]) == true) finish[r] = FinishReason.StopSequence;
                else if (generated[r].Count >= o.MaxNewTokens) finish[r] = FinishReason.Length;
                else anyLive = true;
            }
            if (!anyLive) break;

            var next = tensor(tokens, device: device).unsqueeze(1);                            // [R, 1]
            Replace(ref mask, cat(new[] { mask, ones(rows, 1, dtype: ScalarType.Int64, device: device) }, 1));
            Replace(ref nextPosition, nextPosition + 1);
            Replace(ref logits, decode.Next(next, nextPosition, mask));                        // [R, V]
        }
        foreach (var g in generators) g.Dispose();
        return Enumerable.Range(0, rows)
            .Select(r => new GeneratedSequence(r / n, rowPrompts[r], generated[r].ToArray(), finish[r] ?? FinishReason.Length, logProb[r]))
            .ToList();
    }

    /// <summary>Picks the next token of every row; returns the ids and their log-probabilities under the model.</summary>
    static (long[] Tokens, double[] LogProbs) Choose(Tensor logits, SeenTokens seen, GenerationOptions o, Generator[] generators)
    {
        var scores = Penalise(logits, seen, o.RepetitionPenalty);
        long[] chosen;
        if (o.Temperature == 0)
        {
            chosen = CpuLogits.Applies(scores) ? CpuLogits.ArgMax(scores) : scores.argmax(-1).cpu().data<long>().ToArray();
        }
        else
        {
            scores = LogitsProcessing.Temperature(scores, o.Temperature);
            var (values, ids) = LogitsProcessing.Candidates(scores, o.TopK, o.TopP);          // [R, M], most likely first
            var probs = values.softmax(-1).to(ScalarType.Float64).cpu();                       // [R, M]
            var picks = new long[probs.shape[0]];
            for (int r = 0; r < picks.Length; r++)
                picks[r] = multinomial(probs[r], 1, generator: generators[r]).item<long>();
            chosen = ids.gather(1, tensor(picks, device: ids.device).unsqueeze(1)).squeeze(1).cpu().data<long>().ToArray();
        }
        if (CpuLogits.Applies(logits)) return (chosen, CpuLogits.LogProbs(logits, chosen));
        // float32: libtorch's float64 exp is scalar, which makes a float64 log-softmax over the vocabulary slow (docs/decoding.md).
        var picked = logits.log_softmax(-1).gather(1, tensor(chosen, device: logits.device).unsqueeze(1)).squeeze(1);
        return (chosen, picked.to(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    // ---- beam search -----------------------------------------------------------------------

    IReadOnlyList<GeneratedSequence> BeamSearch(IReadOnlyList<int[]> prompts, GenerationOptions o, CancellationToken cancellation)
    {
        int beams = o.NumBeams, p = prompts.Count, rows = p * beams;
        var rowPrompts = Enumerable.Range(0, rows).Select(r => prompts[r / beams]).ToArray();
        var device = _model.Device;
        int promptLen = rowPrompts.Max(x => x.Length);
        long vocab = Config.VocabSize;

        using var outer = NewDisposeScope();
        var (ids, mask, positions) = LeftPad(rowPrompts, promptLen, device);
        using var cache = new KvCache(Config, rows, promptLen + o.MaxNewTokens, device, _model.DType);
        var seen = new SeenTokens(rowPrompts);

        // Only the first beam of each prompt is live at the start, so the first step picks distinct tokens.
        var beamScores = new double[rows];
        for (int r = 0; r < rows; r++) beamScores[r] = r % beams == 0 ? 0 : double.NegativeInfinity;
        var sequences = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var finished = Enumerable.Range(0, p).Select(_ => new List<(double Score, int[] Ids, string Reason)>()).ToArray();
        var done = new bool[p];

        var logits = _model.Forward(ids, positions, mask, cache, lastOnly: true).squeeze(1);   // the prompt: [R, V]
        var nextPosition = positions.select(1, -1).unsqueeze(1);                               // [R, 1]
        using var decode = DecodeStep(cache);
        for (int step = 0; step < o.MaxNewTokens && !done.All(d => d); step++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var scores = Penalise(logits, seen, o.RepetitionPenalty);
            // log-softmax in float32 (float64's exp is scalar in libtorch, see docs/decoding.md), summed over steps in float64.
            var logProbs = scores.log_softmax(-1).to(ScalarType.Float64).cpu();                 // [R, V]
            var total = logProbs + tensor(beamScores).unsqueeze(1);                             // [R, V]
            var (topScores, topIndex) = total.view(p, beams * vocab).topk(2 * beams, dim: 1);  // [P, 2B]
            double[] ts = topScores.data<double>().ToArray();
            long[] ti = topIndex.data<long>().ToArray();

            var source = new long[rows];
            var nextTokens = new long[rows];
            var nextScores = new double[rows];
            var nextSequences = new List<int>[rows];
            for (int q = 0; q < p; q++)
            {
                int filled = 0;
                for (int c = 0; c < 2 * beams && filled < beams; c++)
                {
                    if (done[q]) break;
                    long flat = ti[q * 2 * beams + c];
                    int beam = (int)(flat / vocab), token = (int)(flat % vocab);
                    int row = q * beams + beam;
                    double score = ts[q * 2 * beams + c];
                    if (double.IsNegativeInfinity(score)) continue;
                    if (o.StopAtEndOfText && token == Config.EosTokenId)
                    {
                        // An end-of-text among the best B candidates closes a hypothesis.
                        if (c < beams)
                        {
                            var hyp = sequences[row].Append(token).ToArray();
                            finished[q].Add((score / Math.Pow(hyp.Length, o.LengthPenalty), hyp, FinishReason.EndOfText));
                        }
                        continue;
                    }
                    int target = q * beams + filled++;
                    source[target] = row;
                    nextTokens[target] = token;
                    nextScores[target] = score;
                    nextSequences[target] = new List<int>(sequences[row]) { token };
                }
                if (!done[q] && finished[q].Count >= beams) done[q] = true;   // early stopping: B hypotheses closed
                if (done[q] || filled < beams)
                {
                    for (int b = done[q] ? 0 : filled; b < beams; b++)
                    {
                        int target = q * beams + b;
                        source[target] = q * beams;
                        nextTokens[target] = PadId;
                        nextScores[target] = double.NegativeInfinity;
                        nextSequences[target] = new List<int>(sequences[q * beams]);
                    }
                }
            }
            sequences = nextSequences;
            beamScores = nextScores;

            var sourceRows = tensor(source, device: device);
            cache.Reorder(sourceRows);
            var next = tensor(nextTokens, device: device).unsqueeze(1);
            seen = seen.Reordered(source);
            for (int r = 0; r < rows; r++) seen.Add(r, nextTokens[r]);
            Replace(ref mask, cat(new[] { mask.index_select(0, sourceRows), ones(rows, 1, dtype: ScalarType.Int64, device: device) }, 1));
            Replace(ref nextPosition, nextPosition.index_select(0, sourceRows) + 1);
            Replace(ref logits, decode.Next(next, nextPosition, mask));                        // [R, V]
        }

        var results = new List<GeneratedSequence>();
        for (int q = 0; q < p; q++)
        {
            if (!done[q])
                for (int b = 0; b < beams; b++)
                {
                    int row = q * beams + b;
                    if (double.IsNegativeInfinity(beamScores[row]) || sequences[row].Count == 0) continue;
                    finished[q].Add((beamScores[row] / Math.Pow(sequences[row].Count, o.LengthPenalty), sequences[row].ToArray(), FinishReason.Length));
                }
            foreach (var (score, hypIds, reason) in finished[q].OrderByDescending(f => f.Score).Take(o.NumReturnSequences))
                results.Add(new GeneratedSequence(q, prompts[q], hypIds, reason, score));
        }
        return results;
    }

    // ---- batching helpers ------------------------------------------------------------------

    /// <summary>Left-pads prompts to one length: ids [R, L], mask [R, L] (1 = real), positions [R, L] counting real tokens from 0.</summary>
    (Tensor Ids, Tensor Mask, Tensor Positions) LeftPad(int[][] prompts, int length, Device device)
    {
        int rows = prompts.Length;
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var pos = new long[rows * length];
        for (int r = 0; r < rows; r++)
        {
            int pad = length - prompts[r].Length;
            for (int j = 0; j < length; j++)
            {
                int at = r * length + j;
                bool real = j >= pad;
                ids[at] = real ? prompts[r][j - pad] : PadId;
                mask[at] = real ? 1 : 0;
                pos[at] = real ? j - pad : 0;
            }
        }
        return (tensor(ids, new long[] { rows, length }, device: device),
                tensor(mask, new long[] { rows, length }, device: device),
                tensor(pos, new long[] { rows, length }, device: device));
    }

    static Tensor Penalise(Tensor logits, SeenTokens seen, double penalty) =>
        penalty == 1.0 ? logits : LogitsProcessing.RepetitionPenalty(logits, seen.ToTensor(logits.device), penalty);

    /// <summary>
    /// Moves a tensor made in a step's dispose scope out to the generation's scope and frees the one
    /// it replaces, so a long generation holds one of each, not one per step.
    /// </summary>
    static void Replace(ref Tensor current, Tensor next)
    {
        next.MoveToOuterDisposeScope();
        current.Dispose();
        current = next;
    }

    static void MarkAll(string?[] finish, string reason)
    {
        for (int i = 0; i < finish.Length; i++) finish[i] ??= reason;
    }
}
