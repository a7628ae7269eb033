using System.Text.Json.Serialization;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Evaluation;

/// Language-modelling figures on a dataset's val split. Loss is the mean next-token cross-entropy in nats,
/// perplexity exp(loss). Bits per character, loss × (val tokens / val characters) / ln 2, is what the model would
/// pay to encode the text itself, so it compares models with different tokenizers (the token count does not).
public sealed record LanguageModelScore
{
    [JsonPropertyName("val_loss")] public double Loss { get; init; }
    [JsonPropertyName("perplexity")] public double Perplexity { get; init; }
    [JsonPropertyName("bits_per_char")] public double BitsPerChar { get; init; }
    [JsonPropertyName("tokens_per_char")] public double TokensPerChar { get; init; }
    [JsonPropertyName("windows")] public int Windows { get; init; }
    [JsonPropertyName("block_size")] public int BlockSize { get; init; }
    [JsonPropertyName("tokens_scored")] public long TokensScored { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

public static class LanguageModelEval
{
    /// Scores up to <paramref name="windows"/> windows of the model's block_size, spread evenly over the val tokens
    /// (all of them when they fit): the same windows every time, so two evaluations of a model agree exactly, and
    /// without overlap whenever the split is long enough.
    public static LanguageModelScore Evaluate(LanguageModel model, TokenFile val, long valChars, int windows, int batchSize = 8)
    {
        int block = model.Config.BlockSize;
        if (val.Length < 2) throw new MiniGlmException($"{val.Path}: {val.Length} tokens; the val split needs at least 2 to score a prediction");
        if (valChars <= 0) throw new MiniGlmException($"{val.Path}: the val split has no characters to score");
        int t = (int)Math.Min(block, val.Length - 1);
        var starts = WindowStarts(val.Length, t, windows);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool wasTraining = model.training;
        model.eval();
        double sum = 0;
        using (no_grad())
        {
            foreach (var chunk in starts.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                var x = new long[chunk.Length * t];
                var y = new long[chunk.Length * t];
                var window = new long[t + 1];
                for (int b = 0; b < chunk.Length; b++)
                {
                    val.Read(chunk[b], window);
                    window.AsSpan(0, t).CopyTo(x.AsSpan(b * t));
                    window.AsSpan(1, t).CopyTo(y.AsSpan(b * t));
                }
                var logits = model.Forward(tensor(x).view(chunk.Length, t), null);
                // Summed, not averaged per batch: the last batch may be smaller.
                sum += LanguageModel.Loss(logits, tensor(y).view(chunk.Length, t)).item<float>() * chunk.Length;
            }
        }
        model.train(wasTraining);
        double loss = sum / starts.Count, tokensPerChar = (double)val.Length / valChars;
        return new LanguageModelScore
        {
            Loss = loss, Perplexity = Math.Exp(loss), BitsPerChar = loss * tokensPerChar / Math.Log(2), TokensPerChar = tokensPerChar,
            Windows = starts.Count, BlockSize = t, TokensScored = (long)starts.Count * t, Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// Starts of up to <paramref name="count"/> windows of t+1 tokens (inputs and shifted targets), evenly spaced from
    /// the first token to the last full window.
    internal static List<long> WindowStarts(long tokens, int t, int count)
    {
        long fit = Math.Max(1, (tokens - 1) / t);
        int n = (int)Math.Min(count, fit);
        long last = tokens - 1 - t;
        return Enumerable.Range(0, n).Select(i => n == 1 ? 0 : last * i / (n - 1)).ToList();
    }

    /// The val split's character count: meta.json's, or (a meta.json from before it was recorded) counted by decoding
    /// val.bin, which gives the same number since end-of-text decodes to nothing.
    public static long ValChars(DatasetMeta meta, TokenFile val, TextTokenizer tokenizer)
    {
        if (meta.ValChars > 0) return meta.ValChars;
        var decoder = new StreamingDecoder(tokenizer);
        long chars = 0;
        for (long i = 0; i < val.Length; i++) chars += Runes(decoder.Push(val[i]));
        return chars + Runes(decoder.Flush());
    }

    private static int Runes(string s) => s.Length == 0 ? 0 : s.EnumerateRunes().Count();
}
