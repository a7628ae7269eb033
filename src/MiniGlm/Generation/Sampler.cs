namespace MiniGlm.Generation;

/// Turns next-token logits into token ids: repetition penalty, temperature, top-k, top-p, then a draw from a
/// seeded generator (or argmax when greedy). Ids the tokenizer cannot produce (vocab padding) are never chosen.
/// Plain C# over one row of logits: the dozen libtorch ops it used to take cost about 0.4 ms per row and token,
/// a sixth of an int8 decode step, and four rows of a batch paid it four times.
public sealed class Sampler
{
    private readonly SamplingOptions options;
    private readonly int usableVocab;
    private readonly Random rng;

    public Sampler(SamplingOptions options, int usableVocab)
    {
        this.options = options.Validated();
        this.usableVocab = usableVocab;
        rng = new Random(options.Seed);
    }

    /// The id drawn from one row of logits (changed in place); <paramref name="context"/>: the ids seen so far,
    /// for the repetition penalty (may be null when it is off).
    public int Next(Span<float> logits, IEnumerable<int>? context)
    {
        int k = options.TopK;
        if (options.Greedy || k == 0 || k >= logits.Length)
        {
            Filter(logits, context, options, usableVocab);
            return options.Greedy ? ArgMax(logits) : Draw(logits);
        }
        // Only the k best tokens can be drawn, so temperature, top-p and the draw run over those k instead of
        // the whole vocabulary (the same distribution).
        Filter(logits, context, options with { Temperature = 1, TopK = 0, TopP = 1 }, usableVocab);
        var (values, ids) = Best(logits, k);
        Filter(values, null, options with { TopK = 0 }, values.Length);
        return ids[Draw(values)];
    }

    /// Filters logits in place: −∞ where a token may not be drawn, the rest divided by the temperature (greedy:
    /// only the padding and the penalty apply). Public for tests.
    public static void Filter(Span<float> logits, IEnumerable<int>? context, SamplingOptions o, int usableVocab)
    {
        if (usableVocab < logits.Length) logits[usableVocab..].Fill(float.NegativeInfinity);
        if (o.RepetitionPenalty != 1.0 && context is not null)
        {
            float penalty = (float)o.RepetitionPenalty;
            foreach (int id in context.Distinct())
                if ((uint)id < (uint)logits.Length)
                    logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
        }
        if (o.Greedy) return;
        float temperature = (float)o.Temperature;
        for (int i = 0; i < logits.Length; i++) logits[i] /= temperature;
        if (o.TopK > 0 && o.TopK < logits.Length)
        {
            var best = Best(logits, o.TopK).Values;
            if (best.Length == o.TopK) // else fewer are finite: nothing more to drop
                for (int i = 0; i < logits.Length; i++)
                    if (logits[i] < best[^1]) logits[i] = float.NegativeInfinity;
        }
        if (o.TopP < 1.0)
        {
            var order = Enumerable.Range(0, logits.Length).ToArray();
            var sorted = logits.ToArray();
            Array.Sort(sorted, order, Comparer<float>.Create((a, b) => b.CompareTo(a)));
            var probs = Softmax(sorted);
            // Drop a token when the tokens before it already hold top_p of the mass (the first always stays).
            double before = 0;
            for (int i = 0; i < order.Length; i++)
            {
                if (before > o.TopP) logits[order[i]] = float.NegativeInfinity;
                before += probs[i];
            }
        }
    }

    /// The k largest logits (fewer if fewer are finite), largest first, and their ids.
    private static (float[] Values, int[] Ids) Best(ReadOnlySpan<float> logits, int k)
    {
        var heap = new PriorityQueue<int, float>(k + 1); // the smallest of the best on top
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (float.IsNegativeInfinity(v)) continue;
            if (heap.Count < k) heap.Enqueue(i, v);
            else if (heap.TryPeek(out _, out float least) && v > least) heap.EnqueueDequeue(i, v);
        }
        var ids = new int[heap.Count];
        var values = new float[heap.Count];
        for (int j = ids.Length - 1; heap.TryDequeue(out int id, out float v); j--) (ids[j], values[j]) = (id, v);
        return (values, ids);
    }

    private static double[] Softmax(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double total = 0;
        for (int i = 0; i < p.Length; i++) total += p[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp(logits[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= total;
        return p;
    }

    /// A draw with softmax odds.
    private int Draw(ReadOnlySpan<float> logits)
    {
        var p = Softmax(logits);
        double u = rng.NextDouble();
        int last = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == 0) continue;
            last = i;
            if ((u -= p[i]) < 0) return i;
        }
        return last; // rounding left u a hair above zero
    }

    /// The first id of the largest logit (as torch.argmax).
    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}
