using System.Diagnostics;
using System.Text.Json.Serialization;
using MiniGlm.Data;
using MiniGlm.Tokenization;

namespace MiniGlm.Training;

public sealed record TrainingBenchResult
{
    [JsonPropertyName("parameters")] public long Parameters { get; init; }
    [JsonPropertyName("tokens_per_iter")] public long TokensPerIter { get; init; }
    [JsonPropertyName("iters_timed")] public int ItersTimed { get; init; }
    [JsonPropertyName("tokens_per_sec")] public double TokensPerSec { get; init; }
    [JsonPropertyName("ms_per_iter")] public double MsPerIter { get; init; }
    [JsonPropertyName("mfu")] public double Mfu { get; init; }
    [JsonPropertyName("matmul_peak_gflops")] public double PeakGflops { get; init; }
    [JsonPropertyName("peak_memory_mb")] public double PeakMemoryMb { get; init; }
    [JsonPropertyName("threads")] public int Threads { get; init; }
}

/// Times the real training loop (the Trainer itself, not a copy of it) for a few iterations on random tokens,
/// skipping the first iterations as warm-up.
public static class TrainingBenchmark
{
    /// <param name="vocabSize">the tokenizer's vocabulary (default GPT-2's); the tokens are random either way.</param>
    public static TrainingBenchResult Run(TrainConfig config, int iters, string workDir, int vocabSize = 50257)
    {
        const int warmup = 2;
        var data = Path.Combine(workDir, "data");
        WriteRandomDataset(data, config.BlockSize * config.BatchSize * 4 + config.BlockSize + 1, config.Seed, vocabSize);
        var run = config with
        {
            Dataset = data, OutDir = Path.Combine(workDir, "run"), InitFrom = "scratch", MaxIters = iters + warmup,
            LrDecayIters = iters + warmup, EvalIters = 1, EvalInterval = 1_000_000, LogInterval = 1,
        };
        TrainingStarted? started = null;
        var steps = new List<StepReport>();
        new Trainer(run, new Recorder(s => started = s, steps.Add)).Run();
        var timed = steps.Where(s => s.Iter > warmup).ToList();
        double tokensPerSec = timed.Average(s => s.TokensPerSec);
        return new TrainingBenchResult
        {
            Parameters = started!.Parameters, TokensPerIter = started.TokensPerIter, ItersTimed = timed.Count,
            TokensPerSec = tokensPerSec, MsPerIter = started.TokensPerIter / tokensPerSec * 1000,
            Mfu = timed.Average(s => s.Mfu), PeakGflops = started.PeakFlops / 1e9, Threads = started.Threads,
            PeakMemoryMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1e6,
        };
    }

    private static void WriteRandomDataset(string dir, int tokens, int seed, int vocabSize)
    {
        var rng = new Random(seed);
        Directory.CreateDirectory(dir);
        TokenFile.Write(DatasetMeta.TrainPath(dir), Enumerable.Range(0, tokens).Select(_ => rng.Next(vocabSize)));
        TokenFile.Write(DatasetMeta.ValPath(dir), Enumerable.Range(0, tokens).Select(_ => rng.Next(vocabSize)));
        new DatasetMeta { Tokenizer = TokenizerSpec.Gpt2, VocabSize = vocabSize, EotToken = vocabSize - 1, TrainTokens = tokens,
            ValTokens = tokens, Created = DateTimeOffset.UtcNow }.Save(dir);
    }

    private sealed class Recorder(Action<TrainingStarted> started, Action<StepReport> step) : ITrainingObserver
    {
        public void Started(TrainingStarted e) => started(e);
        public void Step(StepReport e) => step(e);
    }
}
