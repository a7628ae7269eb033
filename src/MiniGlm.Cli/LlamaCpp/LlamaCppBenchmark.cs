using System.Diagnostics;
using System.Text.Json;
using MiniGlm.Generation;
using MiniGlm.Interop.Gguf;
using MiniGlm.Model;

namespace MiniGlm.Cli.LlamaCpp;

/// `bench generate --compare llama.cpp`: the same model exported to GGUF and decoded by llama.cpp, timed as
/// GenerationBenchmark times us: the same random prompt, the same number of new tokens, the same window slide
/// at block_size (the newest half is prefilled again), median of the runs. llama.cpp's next token is the argmax
/// of its logits (ours is sampled; either costs microseconds against a decode step).
/// Each llama.cpp timing runs in a process of its own (`bench llama.cpp`), right after ours of the same bytes
/// per weight: in ours, ggml's OpenMP calls bind to libtorch's OpenMP runtime, already set to wait passively,
/// and llama.cpp waits at a barrier after every operation (measured: Q8_0 7.4 instead of 3.6–4.2 ms/token).
public sealed class LlamaCppBenchmark : IDisposable
{
    /// Each of our decode dtypes beside the llama.cpp type of the same bytes per weight.
    public static IReadOnlyList<(InferenceDtype Ours, GgufFileType Theirs)> Pairs { get; } =
        [(InferenceDtype.Float32, GgufFileType.F32), (InferenceDtype.BFloat16, GgufFileType.F16), (InferenceDtype.Int8, GgufFileType.Q8_0)];

    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("miniglm-gguf-");

    /// Exports the checkpoint to every GGUF type of Pairs, in a temporary directory deleted on Dispose.
    public LlamaCppBenchmark(string ckpt)
    {
        try
        {
            foreach (var (_, type) in Pairs) GgufExport.Run(ckpt, PathOf(type), type, force: false);
        }
        catch { Dispose(); throw; }
    }

    /// Times llama.cpp on the export of one type, in a process of its own.
    public GenerationBenchResult Run(GgufFileType type, int promptTokens, int newTokens, int runs, int threads)
    {
        var result = Path.Combine(work.FullName, $"result-{type}.json");
        var cli = CliProcess.StartInfo(["bench", "llama.cpp", PathOf(type), "--prompt_tokens", $"{promptTokens}", "--new_tokens", $"{newTokens}",
                                        "--runs", $"{runs}", "--threads", $"{threads}", "--out", result]);
        using var process = Process.Start(cli)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new MiniGlmException($"llama.cpp on {type.Name}: {stderr.Result.Trim()}");
        return JsonSerializer.Deserialize<GenerationBenchResult>(File.ReadAllText(result))!;
    }

    /// Times llama.cpp on a GGUF file in this process, which must not have loaded libtorch (see above).
    public static GenerationBenchResult Time(string gguf, int promptTokens, int newTokens, int runs, int threads)
    {
        var clock = Stopwatch.StartNew();
        using var llama = new LlamaCppModel(gguf, contextSize: null, threads);
        double load = clock.Elapsed.TotalSeconds;
        var timed = Enumerable.Range(0, runs).Select(_ => RunOnce(llama, promptTokens, newTokens)).OrderBy(r => r.TotalSeconds).ToList();
        using var process = Process.GetCurrentProcess();
        return timed[runs / 2] with { Runs = runs, LoadSeconds = load, ResidentMb = process.WorkingSet64 / 1e6 };
    }

    public void Dispose() => work.Delete(true);

    private string PathOf(GgufFileType type) => Path.Combine(work.FullName, $"model-{type}.gguf");

    private static GenerationBenchResult RunOnce(LlamaCppModel llama, int promptTokens, int newTokens)
    {
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => rng.Next(llama.VocabSize - 1)).ToList();
        _ = Generate(llama, prompt, 4).Count(); // warm-up
        var clock = Stopwatch.StartNew();
        double first = 0;
        int steps = 0;
        foreach (var _ in Generate(llama, prompt, newTokens))
            if (steps++ == 0) first = clock.Elapsed.TotalMilliseconds;
        double total = clock.Elapsed.TotalSeconds;
        return new GenerationBenchResult
        {
            Batch = 1, PromptTokens = promptTokens, NewTokens = steps, FirstTokenMs = first,
            PerTokenMs = (total * 1000 - first) / Math.Max(1, steps - 1), TokensPerSec = steps / total, TotalSeconds = total,
        };
    }

    private static IEnumerable<int> Generate(LlamaCppModel llama, List<int> prompt, int newTokens)
    {
        llama.Reset();
        var tokens = new List<int>(prompt.TakeLast(llama.ContextSize));
        var logits = llama.Feed(tokens);
        for (int step = 0; step < newTokens; step++)
        {
            int next = Array.IndexOf(logits, logits.Max());
            tokens.Add(next);
            yield return next;
            if (llama.Position + 1 > llama.ContextSize)
            {
                llama.Reset();
                logits = llama.Feed(tokens.TakeLast(Math.Max(1, llama.ContextSize / 2)).ToList());
            }
            else logits = llama.Feed([next]);
        }
    }
}
