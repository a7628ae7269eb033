using MiniGlm.Decoding;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Generation;

/// One step of generation: the token chosen for each sample and the text it completed (empty while a character
/// is still incomplete). Finished[i] is true once sample i has stopped at end-of-text.
public sealed record GenerationStep(int[] Tokens, string[] Text, bool[] Finished);

/// The inference engine shared by sample, chat, the server and eval. The prompt is prefilled once into a KV cache
/// and fanned out to num_samples rows; then each new token costs one single-token step for the whole batch, both
/// through the <see cref="Decoder"/> built for the weight format chosen when the generator is made.
/// When the context is full the oldest tokens drop: the window keeps its newest half and the cache is rebuilt
/// from it (learned absolute positions cannot be shifted), so a long generation costs about two forwards per
/// token instead of a full block per token. Without the cache (useCache: false) every step forwards the same
/// window from scratch through the reference modules, which is what the cache must reproduce exactly. Tokens that would break a character are
/// never drawn (<see cref="Utf8Constraint"/>).
/// Call from one thread: TorchSharp's no_grad and dispose scopes are thread-local. The decoder is a copy of the
/// weights as they are now: make a new generator after changing them.
public sealed class Generator(GptModel model, TextTokenizer tokenizer, InferenceDtype dtype = InferenceDtype.Float32) : IDisposable
{
    private readonly Decoder decoder = new(model, dtype);
    private Utf8Constraint? utf8;

    public GptModel Model => model;
    public TextTokenizer Tokenizer => tokenizer;
    public InferenceDtype Dtype => decoder.Dtype;

    public IEnumerable<GenerationStep> Generate(IReadOnlyList<int> prompt, SamplingOptions options, int numSamples = 1,
        bool useCache = true, CancellationToken cancel = default)
    {
        options.Validated();
        if (prompt.Count == 0) throw new MiniGlmException("the prompt is empty (it must have at least one token)");
        if (numSamples < 1) throw new MiniGlmException($"num_samples must be at least 1, got {numSamples}");
        model.eval();
        int block = model.Config.BlockSize;
        var tokens = Enumerable.Range(0, numSamples).Select(_ => prompt.ToList()).ToArray();
        var decoders = Enumerable.Range(0, numSamples).Select(_ => new StreamingDecoder(tokenizer)).ToArray();
        var finished = new bool[numSamples];
        var characterStates = new int[numSamples]; // generated text starts between characters
        utf8 ??= Utf8Constraint.For(tokenizer, model.Config.VocabSize);
        using var sampler = new Sampler(options, tokenizer.VocabSize);
        var cache = useCache ? new KvCache(model.Config) : null;
        var rows = cache is null ? [] : Enumerable.Range(0, numSamples).Select(_ => cache.Add()).ToArray();
        int windowStart = Math.Max(0, prompt.Count - block);

        for (int step = 0; step < options.MaxNewTokens && !cancel.IsCancellationRequested; step++)
        {
            int length = tokens[0].Count;
            if (length - windowStart > block)
            {
                windowStart = length - Math.Max(1, block / 2);
                foreach (int row in rows) cache!.Clear(row);
            }
            int[] next;
            using (no_grad())
            using (NewDisposeScope())
            {
                var logits = cache is null ? Reference(tokens, windowStart) : Decode(cache, rows, tokens, windowStart, step == 0);
                var context = options.RepetitionPenalty != 1.0
                    ? tensor(tokens.SelectMany(t => t.Skip(windowStart)).Select(v => (long)v).ToArray()).view(numSamples, -1)
                    : null;
                utf8.Mask(logits, characterStates, tokensLeft: options.MaxNewTokens - step);
                next = sampler.Next(logits, context).data<long>().Select(v => (int)v).ToArray();
            }

            var text = new string[numSamples];
            for (int i = 0; i < numSamples; i++)
            {
                tokens[i].Add(next[i]);
                characterStates[i] = utf8.Advance(characterStates[i], next[i]);
                if (finished[i]) { text[i] = ""; continue; }
                text[i] = decoders[i].Push(next[i]);
                if (options.StopAtEndOfText && next[i] == tokenizer.EotId)
                {
                    finished[i] = true;
                    text[i] += decoders[i].Flush();
                }
            }
            bool done = finished.All(f => f) || step == options.MaxNewTokens - 1 || cancel.IsCancellationRequested;
            if (done)
                for (int i = 0; i < numSamples; i++) text[i] += decoders[i].Flush();
            yield return new GenerationStep(next, text, (bool[])finished.Clone());
            if (done) yield break;
        }
        // Cancelled between steps: hand over the bytes still waiting for their character.
        var rest = decoders.Select(d => d.Flush()).ToArray();
        if (rest.Any(r => r.Length > 0)) yield return new GenerationStep([], rest, (bool[])finished.Clone());
    }

    /// The logits after each row's last token from the decoder: the first step prefills the prompt once and copies
    /// it to every row; later steps append to each row what its cache lacks (one token, or a slid window).
    private Tensor Decode(KvCache cache, int[] rows, List<int>[] tokens, int windowStart, bool prompt)
    {
        if (prompt)
        {
            var logits = decoder.Step(cache, [rows[0]], [tokens[0].Skip(windowStart).ToArray()]);
            foreach (int row in rows.Skip(1)) cache.Copy(rows[0], row);
            return logits.repeat(rows.Length, 1);
        }
        return decoder.Step(cache, rows, tokens.Select((t, i) => (IReadOnlyList<int>)t.Skip(windowStart + cache.Length(rows[i])).ToArray()).ToArray());
    }

    /// The logits after each row's last token from the reference modules over the whole window.
    private Tensor Reference(List<int>[] tokens, int windowStart)
    {
        var idx = tensor(tokens.SelectMany(t => t.Skip(windowStart)).Select(v => (long)v).ToArray()).view(tokens.Length, -1);
        return model.Forward(idx, null, lastOnly: true)[TensorIndex.Colon, -1];
    }

    public void Dispose() => decoder.Dispose();
}
