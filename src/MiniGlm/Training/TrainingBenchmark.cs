using System.Diagnostics;
using System.Text.Json.Serialization;
using MiniGlm.Data;
using MiniGlm.Tokenization;

namespace MiniGlm.Training;

/// <param name="PeakMemoryMb">The process's resident-memory high-water mark (VmHWM) during the timed runs, reset
/// before each run: all memory, libtorch's tensors included, not only what the allocator holds.</param>
public sealed record TrainingBenchResult
{
    [JsonPropertyName("dtype")] public string Dtype { get; init; } = "";
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
/// after <see cref="Warmup"/> untimed ones.
public static class TrainingBenchmark
{
    /// The first iteration pays one-time costs (allocations, oneDNN primitive creation); later ones are steady.
    public const int Warmup = 1;

    /// <param name="vocabSize">the tokenizer's vocabulary (default GPT-2's); the tokens are random either way.</param>
    public static TrainingBenchResult Run(TrainConfig config, int iters, string workDir, int vocabSize = 50257) =>
        Compare(config, [config.Dtype], iters, 1, workDir, vocabSize)[0];

    /// Times each dtype in turn, <paramref name="rounds"/> times over (fp32, bf16, fp32, bf16, …), so that load
    /// from other work on a shared machine falls on all of them alike; each dtype's rounds are pooled.
    /// <param name="timed">Called after each run with that run's own figures (a round can take minutes).</param>
    public static IReadOnlyList<TrainingBenchResult> Compare(TrainConfig config, IReadOnlyList<string> dtypes, int iters, int rounds,
        string workDir, int vocabSize = 50257, Action<int, TrainingBenchResult>? timed = null)
    {
        var data = Path.Combine(workDir, "data");
        WriteRandomDataset(data, config.BlockSize * config.BatchSize * 4 + config.BlockSize + 1, config.Seed, vocabSize);
        var timings = dtypes.ToDictionary(d => d, _ => new List<Timing>());
        for (int round = 0; round < rounds; round++)
            foreach (var dtype in dtypes)
            {
                var t = Time(config with { Dtype = dtype, Dataset = data, OutDir = Path.Combine(workDir, "run") }, iters);
                timings[dtype].Add(t);
                timed?.Invoke(round, Pool([t]));
            }
        return dtypes.Select(d => Pool(timings[d])).ToList();
    }

    private sealed record Timing(TrainingStarted Started, IReadOnlyList<StepReport> Steps, double PeakMemoryMb);

    private static Timing Time(TrainConfig config, int iters)
    {
        var run = config with
        {
            InitFrom = "scratch", MaxIters = iters + Warmup, LrDecayIters = iters + Warmup,
            EvalIters = 1, EvalInterval = 1_000_000, LogInterval = 1,
        };
        TrainingStarted? started = null;
        var steps = new List<StepReport>();
        TorchRuntime.ResetPeakMemory();
        new Trainer(run, new Recorder(s => started = s, steps.Add)).Run();
        return new Timing(started!, steps.Where(s => s.Iter > Warmup).ToList(), Process.GetCurrentProcess().PeakWorkingSet64 / 1e6);
    }

    /// Tokens over time across all timed iterations; MFU against the best peak any run measured (or achieved).
    private static TrainingBenchResult Pool(List<Timing> runs)
    {
        var first = runs[0].Started;
        var steps = runs.SelectMany(r => r.Steps).ToList();
        double seconds = steps.Sum(s => first.TokensPerIter / s.TokensPerSec);
        double tokensPerSec = steps.Count * first.TokensPerIter / seconds;
        double peak = runs.Max(r => r.Started.PeakFlops);
        double mfu = Mfu.Of(tokensPerSec * first.FlopsPerToken, ref peak);
        return new TrainingBenchResult
        {
            Dtype = first.Dtype.Name, Parameters = first.Parameters, TokensPerIter = first.TokensPerIter, ItersTimed = steps.Count,
            TokensPerSec = tokensPerSec, MsPerIter = seconds / steps.Count * 1000, Mfu = mfu, PeakGflops = peak / 1e9,
            Threads = first.Threads, PeakMemoryMb = runs.Max(r => r.PeakMemoryMb),
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
