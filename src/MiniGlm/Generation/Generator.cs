using MiniGlm.Decoding;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Generation;

/// One step of generation: the token chosen for each sample and the text it completed (empty while a character
/// is still incomplete). Finished[i] is true once sample i has stopped at end-of-text.
public sealed record GenerationStep(int[] Tokens, string[] Text, bool[] Finished);

/// The inference engine shared by sample, chat, the server and eval. Each sequence is a <see cref="GenerationStream"/>;
/// <see cref="Step"/> advances any set of streams (the server's concurrent requests, of different lengths) by one
/// token in one decoder step, and <see cref="Generate"/> is that loop for the num_samples streams of one prompt,
/// whose prompt is prefilled once into a KV cache and fanned out to their rows; all through the
/// <see cref="Decoder"/> built for the weight format chosen when the generator is made.
/// When the context is full the oldest tokens drop: the window keeps its newest half and the cache is rebuilt
/// from it (learned absolute positions cannot be shifted), so a long generation costs about two forwards per
/// token instead of a full block per token. Without the cache (useCache: false) every step forwards the same
/// window from scratch through the reference modules, which is what the cache must reproduce exactly. Tokens that would break a character are
/// never drawn (<see cref="Utf8Constraint"/>).
/// Call from one thread: TorchSharp's no_grad and dispose scopes are thread-local. The decoder is a copy of the
/// weights as they are now: make a new generator after changing them.
public sealed class Generator(LanguageModel model, TextTokenizer tokenizer, InferenceDtype dtype = InferenceDtype.Float32) : IDisposable
{
    private readonly Decoder decoder = new(model, dtype);
    private Utf8Constraint? utf8;

    public LanguageModel Model => model;
    public TextTokenizer Tokenizer => tokenizer;
    public InferenceDtype Dtype => decoder.Dtype;

    public IEnumerable<GenerationStep> Generate(IReadOnlyList<int> prompt, SamplingOptions options, int numSamples = 1,
        bool useCache = true, CancellationToken cancel = default)
    {
        options.Validated();
        if (prompt.Count == 0) throw new MiniGlmException("the prompt is empty (it must have at least one token)");
        if (numSamples < 1) throw new MiniGlmException($"num_samples must be at least 1, got {numSamples}");
        var cache = useCache ? new KvCache(model.Config) : null;
        // The samples of one prompt share one sampler: one seed, different draws.
        var sampler = new Sampler(options, tokenizer.VocabSize);
        var streams = Enumerable.Range(0, numSamples).Select(_ => Start(prompt, options, cache, sampler)).ToArray();
        try
        {
            for (int step = 0; step < options.MaxNewTokens && !cancel.IsCancellationRequested; step++)
            {
                var (next, text) = step == 0 && cache is not null && numSamples > 1 ? FannedOutPrompt(cache, streams) : Step(cache, streams);
                bool done = streams.All(s => s.Finished) || cancel.IsCancellationRequested;
                if (done)
                    for (int i = 0; i < numSamples; i++) text[i] += streams[i].Flush();
                yield return new GenerationStep(next, text, streams.Select(s => s.FinishReason == "stop").ToArray());
                if (done) yield break;
            }
            // Cancelled between steps: hand over the bytes still waiting for their character.
            var rest = streams.Select(s => s.Flush()).ToArray();
            if (rest.Any(r => r.Length > 0)) yield return new GenerationStep([], rest, streams.Select(s => s.FinishReason == "stop").ToArray());
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
    }

    /// A new stream for <paramref name="prompt"/> with a row in <paramref name="cache"/> (none: every step forwards
    /// the whole window through the reference modules) and its own sampler seeded from the options unless one is given.
    public GenerationStream Start(IReadOnlyList<int> prompt, SamplingOptions options, KvCache? cache, Sampler? sampler = null) =>
        new(prompt, options.Validated(), tokenizer, model.Config.BlockSize, cache, sampler);

    /// One decode step for all <paramref name="streams"/> together: each brings what its cache row lacks (a whole
    /// prompt, one token, or a slid window) and draws its next token from its own logits row. Returns each
    /// stream's token and the text it completed.
    public (int[] Tokens, string[] Text) Step(KvCache? cache, IReadOnlyList<GenerationStream> streams)
    {
        foreach (var s in streams) s.Slide();
        using (no_grad())
        using (NewDisposeScope())
        {
            return Accept(cache is null ? Reference(streams) : Decode(cache, streams), streams);
        }
    }

    /// The streams' logits rows from the decoder. The one-token rows share one step; a prompt (or a slid window)
    /// is prefilled in a step of its own, as if its request were alone: a long product goes through libtorch, so
    /// this keeps every stream's numbers independent of who shares its step (batched answers equal lone ones).
    private Tensor Decode(KvCache cache, IReadOnlyList<GenerationStream> streams)
    {
        var pending = streams.Select(s => s.Pending).ToArray();
        var single = Enumerable.Range(0, streams.Count).Where(i => pending[i].Count == 1).ToArray();
        var rows = new Tensor[streams.Count];
        if (single.Length > 0)
        {
            var logits = decoder.Step(cache, single.Select(i => streams[i].Row).ToArray(), single.Select(i => pending[i]).ToArray());
            if (single.Length == streams.Count) return logits; // the usual step: no copy
            for (int j = 0; j < single.Length; j++) rows[single[j]] = logits.narrow(0, j, 1);
        }
        for (int i = 0; i < streams.Count; i++)
            rows[i] ??= decoder.Step(cache, [streams[i].Row], [pending[i]]);
        return cat(rows, 0);
    }

    /// The first step of several samples of one prompt: the prompt is prefilled once and copied to every row.
    private (int[] Tokens, string[] Text) FannedOutPrompt(KvCache cache, GenerationStream[] streams)
    {
        using (no_grad())
        using (NewDisposeScope())
        {
            var logits = decoder.Step(cache, [streams[0].Row], [streams[0].Pending]);
            foreach (var s in streams.Skip(1)) cache.Copy(streams[0].Row, s.Row);
            return Accept(logits.repeat(streams.Length, 1), streams);
        }
    }

    private Utf8Constraint Utf8 => utf8 ??= Utf8Constraint.For(tokenizer, model.Config.VocabSize);

    /// Each stream draws from its row of the (streams, vocab) logits.
    private unsafe (int[] Tokens, string[] Text) Accept(Tensor logits, IReadOnlyList<GenerationStream> streams)
    {
        var rows = logits.to(ScalarType.Float32).contiguous();
        int vocab = (int)rows.shape[1];
        var tokens = new int[streams.Count];
        var text = new string[streams.Count];
        using var storage = rows.storage<float>();
        float* first = (float*)storage.data_ptr() + rows.storage_offset();
        for (int i = 0; i < streams.Count; i++)
            (tokens[i], text[i]) = streams[i].Accept(new Span<float>(first + (long)i * vocab, vocab), Utf8);
        return (tokens, text);
    }

    /// The logits after each stream's last token from the reference modules over its whole window (windows of
    /// one length: the samples of one prompt).
    private Tensor Reference(IReadOnlyList<GenerationStream> streams)
    {
        model.eval();
        var idx = tensor(streams.SelectMany(s => s.Window).Select(v => (long)v).ToArray()).view(streams.Count, -1);
        return model.Forward(idx, null, lastOnly: true)[TensorIndex.Colon, -1];
    }

    public void Dispose() => decoder.Dispose();
}
