using System.Diagnostics;
using System.Text;
using System.Text.Json.Serialization;

namespace MiniGlm.Tokenization;

public sealed record TokenizerStatsResult
{
    [JsonPropertyName("tokenizer")] public required string Tokenizer { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("chars")] public long Chars { get; init; }
    [JsonPropertyName("bytes")] public long Bytes { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("tokens_per_char")] public double TokensPerChar => (double)Tokens / Math.Max(1, Chars);
    [JsonPropertyName("bytes_per_token")] public double BytesPerToken => (double)Bytes / Math.Max(1, Tokens);
    /// Blocks whose ids did not decode back to the exact text (0 for a lossless tokenizer).
    [JsonPropertyName("round_trip_failures")] public int RoundTripFailures { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

/// `tokenizer stats`: how many tokens a tokenizer spends on a text, and whether decoding gives the text back.
public static class TokenizerStats
{
    public static TokenizerStatsResult Measure(TextTokenizer tokenizer, IReadOnlyList<string> files, int threads = 0)
    {
        var clock = Stopwatch.StartNew();
        long chars = 0, bytes = 0, tokens = 0;
        int failures = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.ForEach(PreTokenCounter.Blocks(files, maxChars: 0, _ => { }), options, block =>
        {
            var ids = tokenizer.Encode(block);
            Interlocked.Add(ref tokens, ids.Count);
            Interlocked.Add(ref chars, block.EnumerateRunes().Count());
            Interlocked.Add(ref bytes, Encoding.UTF8.GetByteCount(block));
            if (tokenizer.Decode(ids) != block) Interlocked.Increment(ref failures);
        });
        return new TokenizerStatsResult
        {
            Tokenizer = tokenizer.Spec.ToString(), VocabSize = tokenizer.VocabSize, Chars = chars, Bytes = bytes,
            Tokens = tokens, RoundTripFailures = failures, Seconds = clock.Elapsed.TotalSeconds,
        };
    }
}
