using MiniGlm.Decoding;
using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// One sequence being generated: its tokens and context window, its row in a <see cref="KvCache"/>, its sampler
/// (its own seed, or one shared by the samples of one prompt), its UTF-8 state and its text decoder. Streams of
/// different lengths advance together through <see cref="Generator.Step"/>; each joins with its prompt and
/// leaves when it is finished, so <see cref="Generator.Generate"/> and the server's batches run the same loop.
public sealed class GenerationStream : IDisposable
{
    private readonly List<int> tokens;
    private readonly SamplingOptions options;
    private readonly Sampler sampler;
    private readonly TextTokenizer tokenizer;
    private readonly StreamingDecoder text;
    private readonly KvCache? cache;
    private readonly int block;
    private int windowStart, characterState; // generated text starts between characters

    internal GenerationStream(IReadOnlyList<int> prompt, SamplingOptions options, TextTokenizer tokenizer, int block,
        KvCache? cache, Sampler? sharedSampler)
    {
        if (prompt.Count == 0) throw new MiniGlmException("the prompt is empty (it must have at least one token)");
        this.options = options;
        (this.tokenizer, this.block, this.cache) = (tokenizer, block, cache);
        text = new StreamingDecoder(tokenizer);
        tokens = prompt.ToList();
        windowStart = Math.Max(0, prompt.Count - block);
        sampler = sharedSampler ?? new Sampler(options, tokenizer.VocabSize);
        Row = cache?.Add() ?? -1;
    }

    /// The stream's row in its cache (−1 without a cache).
    public int Row { get; }
    /// Tokens drawn so far, end-of-text included.
    public int Steps { get; private set; }
    /// Tokens drawn before the answer ended (end-of-text not counted).
    public int CompletionTokens { get; private set; }
    /// "stop" after end-of-text, "length" after max_new_tokens; null while the stream runs.
    public string? FinishReason { get; private set; }
    public bool Finished => FinishReason is not null;

    /// Before a step: when the context is full the oldest tokens drop; the window keeps its newest half and the
    /// cache row is refilled from it (learned absolute positions cannot be shifted).
    internal void Slide()
    {
        if (tokens.Count - windowStart <= block) return;
        windowStart = tokens.Count - Math.Max(1, block / 2);
        if (cache is not null) cache.Clear(Row);
    }

    /// The tokens the model sees: the context window.
    internal IEnumerable<int> Window => tokens.Skip(windowStart);

    /// What the cache row lacks: the prompt first, then one token a step (or the whole window after a slide).
    internal IReadOnlyList<int> Pending => tokens.Skip(windowStart + cache!.Length(Row)).ToArray();

    /// Draws the next token from this stream's row of logits (changed in place), with every token that would
    /// break a character masked out, and returns it with the text it completed. After the stream finished,
    /// tokens are still appended (a batch of samples steps together) but yield no text.
    internal (int Token, string Text) Accept(Span<float> logits, Utf8Constraint utf8)
    {
        utf8.Mask(logits, characterState, options.MaxNewTokens - Steps);
        int next = sampler.Next(logits, options.RepetitionPenalty != 1.0 ? Window : null);
        tokens.Add(next);
        characterState = utf8.Advance(characterState, next);
        Steps++;
        if (Finished) return (next, "");
        var piece = text.Push(next);
        if (options.StopAtEndOfText && next == tokenizer.EotId) FinishReason = "stop";
        else if (Steps >= options.MaxNewTokens) FinishReason = "length";
        if (next != tokenizer.EotId) CompletionTokens++;
        return (next, Finished ? piece + text.Flush() : piece);
    }

    /// The bytes still waiting for their character, e.g. when the stream is cancelled.
    public string Flush() => text.Flush();

    /// Frees the cache row.
    public void Dispose()
    {
        if (cache is not null) cache.Remove(Row);
    }
}
