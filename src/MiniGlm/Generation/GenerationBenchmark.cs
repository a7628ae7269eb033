using System.Diagnostics;
using System.Text.Json.Serialization;

namespace MiniGlm.Generation;

public sealed record GenerationBenchResult
{
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; init; }
    [JsonPropertyName("new_tokens")] public int NewTokens { get; init; }
    /// Time to first token: prefill of the prompt plus the first draw.
    [JsonPropertyName("first_token_ms")] public double FirstTokenMs { get; init; }
    [JsonPropertyName("per_token_ms")] public double PerTokenMs { get; init; }
    /// New tokens per second per sequence (×batch for the whole batch).
    [JsonPropertyName("tokens_per_sec")] public double TokensPerSec { get; init; }
    [JsonPropertyName("total_seconds")] public double TotalSeconds { get; init; }
    /// Timed runs; the figures are the run of median total time (a shared machine's stray pauses stay out).
    [JsonPropertyName("runs")] public int Runs { get; init; }
    /// Resident memory of the process with the model loaded and this dtype's decoder built (bench generate).
    [JsonPropertyName("resident_mb"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public double ResidentMb { get; init; }
    /// llama.cpp only: seconds to load the GGUF file and make its context.
    [JsonPropertyName("load_seconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public double LoadSeconds { get; init; }
}

/// Times the engine as a user meets it: a prompt of a given length, then a fixed number of new tokens
/// (end-of-text does not stop it), sampled with sample.py's defaults.
public static class GenerationBenchmark
{
    public static GenerationBenchResult Run(Generator generator, int promptTokens, int newTokens, int batch, int runs)
    {
        var timed = Enumerable.Range(0, runs).Select(_ => RunOnce(generator, promptTokens, newTokens, batch))
            .OrderBy(r => r.TotalSeconds).ToList();
        return timed[runs / 2] with { Runs = runs };
    }

    private static GenerationBenchResult RunOnce(Generator generator, int promptTokens, int newTokens, int batch)
    {
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => rng.Next(generator.Tokenizer.VocabSize - 1)).ToList();
        var options = new SamplingOptions { MaxNewTokens = newTokens, StopAtEndOfText = false };
        foreach (var _ in generator.Generate(prompt, options with { MaxNewTokens = 4 }, batch)) { } // warm-up
        var clock = Stopwatch.StartNew();
        double first = 0;
        int steps = 0;
        foreach (var _ in generator.Generate(prompt, options, batch))
            if (steps++ == 0) first = clock.Elapsed.TotalMilliseconds;
        double total = clock.Elapsed.TotalSeconds;
        return new GenerationBenchResult
        {
            Batch = batch, PromptTokens = promptTokens, NewTokens = steps, FirstTokenMs = first,
            PerTokenMs = (total * 1000 - first) / Math.Max(1, steps - 1), TokensPerSec = steps / total, TotalSeconds = total,
        };
    }
}
