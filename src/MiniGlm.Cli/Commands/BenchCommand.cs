using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Checkpoints;
using MiniGlm.Cli.LlamaCpp;
using MiniGlm.Cli.ServeBench;
using MiniGlm.Decoding;
using MiniGlm.Generation;
using MiniGlm.IO;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using TorchSharp;
using static TorchSharp.torch;
using Generator = MiniGlm.Generation.Generator;

namespace MiniGlm.Cli.Commands;

public static class BenchCommand
{
    private const string Usage = """
        usage: ./miniglm bench train [CONFIG.json] [--iters 8] [--vocab_size 50257] [--compare [--rounds 2]] [--key=value …] [--out FILE]
          Times the training loop on random tokens (default: the seed config): tokens/s, ms per iteration, MFU
          against this process's matmul peak in the dtype trained with (best of 5 short timings, or the run's own
          speed if higher), peak memory (the process's resident high-water mark). Written to reports/bench-train.json.
          --compare: float32 and bfloat16 side by side, timed alternately (--rounds times each, --iters per round)
          so that load from other work on the machine falls on both alike; prints the CPU's flags.
          --vocab_size: the tokenizer's vocabulary (50257 = GPT-2; e.g. 8192 for a trained one), padded to a multiple of 64.
        usage: ./miniglm bench generate [--ckpt DIR | CONFIG.json [--vocab_size 50257]] [--prompt_tokens 100] [--new_tokens 512] [--dtype int8|float32|bfloat16|all] [--threads N] [--runs 3] [--compare llama.cpp] [--out FILE]
          Times loading (checkpoint to decoder) and generation (KV cache) for batch 1 and batch 4: time to first
          token, ms per token, tokens/s, resident memory with each dtype's decoder; each figure is from the run of
          median total time out of --runs.
          Without --ckpt, a model of the config's shape (default: the seed's 6×512; any arch, e.g.
          configs/bench-smollm2-135m.json) with random weights is saved and timed; --vocab_size sets its embedding
          rows (GPT-2's tokenizer, padded to 64; e.g. 151936 as Qwen2.5's).
          --threads defaults to every core; on a busy shared machine 1 can decode faster (no waits on a descheduled peer).
          --compare llama.cpp: also exports the model to GGUF f32, f16 and q8_0 and times llama.cpp (LLamaSharp 0.30)
          on them in the same run, batch 1 (its load time and resident memory too), printed beside our fp32, bf16
          and int8 with the CPU's flags.
          Results are printed and written as JSON to --out (default reports/bench-generate.json).
        usage: ./miniglm bench serve (--url http://127.0.0.1:8000 | --ckpt DIR [--dtype int8]) [--model NAME] [--clients 1,4,16] [--requests 4] [--max_tokens 128] [--temperature 0.8] [--out FILE]
          Load test of serve over loopback: for each client count, that many clients at once each stream --requests
          chat completions one after another; prints aggregate completion tokens/s, time to first token and latency
          p50/p99, the slowest request's tokens/s and errors as a Markdown table, written to --out (default
          reports/bench-serve.json). --url: a server already running (model: the first it lists, unless --model);
          --ckpt: `serve --ckpt DIR` started in a process of its own on a free loopback port, stopped at the end.
        usage: ./miniglm bench llama.cpp MODEL.gguf [--prompt_tokens 100] [--new_tokens 512] [--threads N] [--runs 3] [--out FILE]
          Times llama.cpp (LLamaSharp 0.30) alone on a GGUF file, as bench generate times us (batch 1, the window
          slides at the model's block_size); written to --out (default reports/bench-llama-cpp.json).
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.FirstOrDefault() is not ("generate" or "train" or "llama.cpp" or "serve")) { Console.WriteLine(Usage); return cl.Has("help") ? 0 : 2; }
        return cl.Positionals[0] switch { "train" => Train(cl), "generate" => Generate(cl), "serve" => Serve(cl), _ => LlamaCpp(cl) };
    }

    private static int Serve(CommandLine cl)
    {
        var (url, ckpt) = (cl.Get("url"), cl.Get("ckpt"));
        if ((url is null) == (ckpt is null))
            throw new MiniGlmException(url is null ? "bench serve: name the server: --url http://HOST:PORT (one already running) or --ckpt DIR (a checkpoint to serve)"
                                                   : "bench serve: --url and --ckpt exclude each other (a server already running, or a checkpoint to serve)");
        Uri? server = null;
        if (url is not null && (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out server) || server.Scheme is not ("http" or "https")))
            throw new MiniGlmException($"--url expects an http:// address such as http://127.0.0.1:8000, got {url}");
        if (ckpt is not null && !Directory.Exists(ckpt)) throw new MiniGlmException($"--ckpt {ckpt}: no such directory");
        if (url is not null && cl.Has("dtype")) throw new MiniGlmException("--dtype goes with --ckpt (a server at --url decodes as it was started)");
        List<string> clients = cl.Has("clients") ? cl.Values("clients").SelectMany(v => v.Split(',')).ToList() : ["1", "4", "16"];
        if (clients.Count == 0 || clients.Any(c => !int.TryParse(c, out var n) || n < 1))
            throw new MiniGlmException($"--clients expects positive integers separated by commas (e.g. 1,4,16), got '{string.Join(" ", cl.Values("clients"))}'");
        var temperature = cl.Double("temperature", 0.8);
        if (temperature < 0) throw new MiniGlmException($"--temperature expects a number ≥ 0, got {temperature}");
        var options = new ServeBenchmark.Options(server, ckpt, SamplingArgs.Name(SamplingArgs.Dtype(cl)),
            cl.Get("model"), clients.Select(int.Parse).ToList(), cl.Int("requests", 4, min: 1), cl.Int("max_tokens", 128, min: 1), temperature,
            cl.Get("out") ?? Path.Combine("reports", "bench-serve.json"));
        cl.RejectUnknown("bench");
        ServeBenchmark.Run(options);
        return 0;
    }

    private static int LlamaCpp(CommandLine cl)
    {
        var gguf = cl.Positionals.Skip(1).FirstOrDefault() ?? throw new MiniGlmException("bench llama.cpp: name a GGUF file (./miniglm bench llama.cpp MODEL.gguf)");
        if (!File.Exists(gguf)) throw new MiniGlmException($"{gguf}: no such file");
        int promptTokens = cl.Int("prompt_tokens", 100, min: 1), newTokens = cl.Int("new_tokens", 512, min: 1);
        int threads = cl.Int("threads", Environment.ProcessorCount, min: 1), runs = cl.Int("runs", 3, min: 1);
        var outPath = cl.Get("out") ?? Path.Combine("reports", "bench-llama-cpp.json");
        cl.RejectUnknown("bench");
        TorchRuntime.DefaultThreadWait();
        var r = LlamaCppBenchmark.Time(gguf, promptTokens, newTokens, runs, threads);
        Console.WriteLine($"llama.cpp {Path.GetFileName(gguf)}: first token {r.FirstTokenMs:F0} ms, {r.PerTokenMs:F2} ms/token, {r.NewTokens} tokens in {r.TotalSeconds:F2} s " +
                          $"(median of {runs}, {threads} threads; CPU: {CpuFlags.Describe()})");
        AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static int Train(CommandLine cl)
    {
        bool compare = cl.Flag("compare");
        int iters = cl.Int("iters", compare ? 3 : 8, min: 1), rounds = cl.Int("rounds", compare ? 2 : 1, min: 1);
        var outPath = cl.Get("out") ?? Path.Combine("reports", "bench-train.json");
        int vocab = cl.Int("vocab_size", 50257, min: 2);
        var overrides = cl.Overrides("iters", "out", "vocab_size", "compare", "rounds");
        var configFile = cl.Positionals.Skip(1).FirstOrDefault();
        var config = TrainConfig.Load(configFile, overrides);
        string[] dtypes = compare ? [TrainingDtype.Float32, TrainingDtype.BFloat16] : [config.Dtype];
        var work = Directory.CreateTempSubdirectory("miniglm-bench-");
        try
        {
            Console.WriteLine($"CPU: {CpuFlags.ModelName ?? "unknown"}; flags {CpuFlags.Summary()}; load average {LoadAverage()}");
            Console.WriteLine($"timing {iters} iterations (after {TrainingBenchmark.Warmup} of warm-up) × {rounds} round(s) of {string.Join(", ", dtypes)} on " +
                              $"{configFile ?? "the seed config"}: {config.NLayer}×{config.NEmbd}, batch {config.BatchSize}×{config.BlockSize}, " +
                              $"gradient_accumulation_steps {config.GradientAccumulationSteps}…");
            var results = TrainingBenchmark.Compare(config, dtypes, iters, rounds, work.FullName, vocab, (round, r) =>
                Console.WriteLine($"  round {round + 1}: {r.Dtype} {r.TokensPerSec:F0} tokens/s (load average {LoadAverage()})"));
            Console.WriteLine($"{results[0].Parameters / 1e6:F2}M parameters, {results[0].TokensPerIter:N0} tokens per iteration, {results[0].Threads} threads");
            Console.WriteLine($"{"dtype",-9} {"tokens/s",9} {"ms/iter",9} {"MFU",7} {"of peak",14} {"peak memory",12}");
            foreach (var r in results)
                Console.WriteLine($"{r.Dtype,-9} {r.TokensPerSec,9:F0} {r.MsPerIter,9:F0} {r.Mfu * 100,6:F1}% {r.PeakGflops,7:F0} GFLOP/s {r.PeakMemoryMb / 1000,9:F2} GB");
            Console.WriteLine("MFU is against 'of peak', the matmul peak this process measured in that dtype, not the CPU's datasheet peak");
            if (results.Count == 2)
                Console.WriteLine($"{results[1].Dtype} / {results[0].Dtype}: {results[1].TokensPerSec / results[0].TokensPerSec:F2}× tokens/s " +
                                  "(peak memory: resident high-water mark, reset before each run)");
            AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(new
            {
                config = configFile ?? "seed", vocab_size = vocab, date = DateTime.UtcNow.ToString("O"), cpu = CpuFlags.ModelName,
                cpu_flags = CpuFlags.Summary(), load_average = LoadAverage(), iters, rounds, results,
            }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"written {outPath}");
        }
        finally { work.Delete(true); }
        return 0;
    }

    /// The 1-minute load average (Linux), printed with speed figures taken on a machine others may be using.
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static int Generate(CommandLine cl)
    {
        var ckpt = cl.Get("ckpt");
        var configFile = cl.Positionals.Skip(1).FirstOrDefault();
        int promptTokens = cl.Int("prompt_tokens", 100, min: 1), newTokens = cl.Int("new_tokens", 512, min: 1);
        var dtypes = (cl.Get("dtype") ?? "all") is "all" ? Enum.GetValues<InferenceDtype>() : [SamplingArgs.ParseDtype(cl.Get("dtype")!)];
        var outPath = cl.Get("out") ?? Path.Combine("reports", "bench-generate.json");
        int threads = cl.Int("threads", Environment.ProcessorCount, min: 1), runs = cl.Int("runs", 3, min: 1);
        var tokenizer = TextTokenizer.Load(TokenizerSpec.Gpt2);
        int vocab = cl.Int("vocab_size", tokenizer.VocabSize, min: tokenizer.VocabSize);
        var compare = cl.Get("compare");
        if (compare is not (null or "llama.cpp")) throw new MiniGlmException($"--compare: only llama.cpp can be compared, got '{compare}'");
        if (ckpt is not null && cl.Has("vocab_size")) throw new MiniGlmException("--vocab_size goes with a CONFIG.json (random weights); a checkpoint has its own");
        cl.RejectUnknown("bench");
        torch.set_num_threads(threads);

        // Random weights are saved as a checkpoint first, so they load as a user's model would (timed alike).
        var work = ckpt is null ? Directory.CreateTempSubdirectory("miniglm-bench-") : null;
        try
        {
            var dir = ckpt ?? RandomCheckpoint(Path.Combine(work!.FullName, "model"), TrainConfig.Load(configFile, []).ModelConfig(GptConfig.PadVocab(vocab)), tokenizer);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var loaded = LoadedModel.Load(dir);
            double loadSeconds = clock.Elapsed.TotalSeconds;
            var model = loaded.Generator.Model;
            tokenizer = loaded.Tokenizer;
            Console.WriteLine($"model: {(ckpt ?? configFile ?? "seed config, random weights")}, {model.Config.Arch}, {model.ParameterCount() / 1e6:F2}M parameters, " +
                              $"vocab {model.Config.VocabSize}, block_size {model.Config.BlockSize}, {torch.get_num_threads()} threads, decode kernels {Decoder.Instructions}");
            Console.WriteLine($"loaded in {loadSeconds:F2} s (checkpoint to fp32 model and decoder), resident memory {Rss() / 1e6:F0} MB");
            var results = new List<BenchRow>();
            var llamaCppResults = new List<BenchRow>();
            using var llamaCpp = compare is null ? null : ExportForLlamaCpp(dir);
            foreach (var dtype in dtypes)
            {
                using var generator = new Generator(model, tokenizer, dtype);
                long rss = Rss();
                foreach (int batch in new[] { 1, 4 })
                {
                    var r = GenerationBenchmark.Run(generator, promptTokens, newTokens, batch, runs) with { ResidentMb = rss / 1e6 };
                    Console.WriteLine($"{dtype,-9} batch {batch}: first token {r.FirstTokenMs:F0} ms, {r.PerTokenMs:F1} ms/token, " +
                                      $"{r.TokensPerSec:F1} tokens/s per sequence, {r.NewTokens} tokens in {r.TotalSeconds:F2} s, resident {rss / 1e6:F0} MB");
                    results.Add(new BenchRow(dtype.ToString(), r));
                    if (llamaCpp is null || batch != 1) continue;
                    var type = LlamaCppBenchmark.Pairs.First(p => p.Ours == dtype).Theirs;
                    var t = llamaCpp.Run(type, promptTokens, newTokens, runs, threads);
                    Console.WriteLine($"{"llama.cpp " + type.Name.ToUpperInvariant(),-14} batch 1: first token {t.FirstTokenMs:F0} ms, {t.PerTokenMs:F1} ms/token, " +
                                      $"{t.NewTokens} tokens in {t.TotalSeconds:F2} s, loaded in {t.LoadSeconds:F2} s, resident {t.ResidentMb:F0} MB");
                    llamaCppResults.Add(new BenchRow(type.Name, t));
                }
            }
            if (llamaCpp is not null) PrintComparison(results, llamaCppResults, promptTokens, newTokens, runs, threads);
            var llamaCppRows = llamaCpp is null ? null : llamaCppResults;
            AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(new
            {
                model = ckpt ?? configFile ?? "seed", arch = model.Config.Arch, parameters = model.ParameterCount(), vocab_size = model.Config.VocabSize,
                threads = torch.get_num_threads(), load_seconds = loadSeconds, date = DateTime.UtcNow.ToString("O"), cpu = CpuFlags.Describe(),
                load_average = LoadAverage(), results, llama_cpp = llamaCppRows,
            }, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"written {outPath}");
        }
        finally { work?.Delete(true); }
        return 0;
    }

    /// The process's resident memory now (Linux RSS).
    internal static long Rss() { using var p = System.Diagnostics.Process.GetCurrentProcess(); return p.WorkingSet64; }

    private static string RandomCheckpoint(string dir, GptConfig shape, TextTokenizer tokenizer)
    {
        using var model = LanguageModel.Create(shape);
        CheckpointStore.Save(dir, model, new CheckpointConfig { Model = model.Config, Tokenizer = tokenizer.Spec, Train = new TrainConfig().WithShape(shape) }, new TrainerState(), null);
        return dir;
    }

    private sealed record BenchRow([property: JsonPropertyName("dtype")] string Dtype, [property: JsonPropertyName("result")] GenerationBenchResult Result);

    /// The checkpoint as GGUF files for llama.cpp.
    private static LlamaCppBenchmark ExportForLlamaCpp(string ckpt)
    {
        Console.WriteLine("llama.cpp: exporting the model to GGUF f32, f16 and q8_0…");
        return new LlamaCppBenchmark(ckpt);
    }

    /// Batch 1, each of our dtypes beside llama.cpp's type of the same bytes per weight.
    private static void PrintComparison(List<BenchRow> ours, List<BenchRow> theirs, int promptTokens, int newTokens, int runs, int threads)
    {
        Console.WriteLine($"\nCPU: {CpuFlags.Describe()}; {threads} threads; prompt {promptTokens} tokens, {newTokens} new tokens, batch 1, median of {runs}");
        Console.WriteLine($"{"ours",-10}{"first token",12}{"ms/token",10}{$"{newTokens} tokens",12}   {"llama.cpp",-10}{"first token",12}{"ms/token",10}{$"{newTokens} tokens",12}");
        foreach (var (dtype, type) in LlamaCppBenchmark.Pairs)
        {
            var mine = ours.FirstOrDefault(r => r.Dtype == dtype.ToString() && r.Result.Batch == 1)?.Result;
            var t = theirs.FirstOrDefault(r => r.Dtype == type.Name)?.Result;
            if (mine is null && t is null) continue;
            Console.WriteLine($"{dtype,-10}{Cell(mine?.FirstTokenMs, "ms"),12}{Cell(mine?.PerTokenMs, ""),10}{Cell(mine?.TotalSeconds, "s"),12}   " +
                              $"{type.Name.ToUpperInvariant(),-10}{Cell(t?.FirstTokenMs, "ms"),12}{Cell(t?.PerTokenMs, ""),10}{Cell(t?.TotalSeconds, "s"),12}");
        }
    }

    private static string Cell(double? value, string unit) => value is null ? "—" : unit switch
    {
        "ms" => $"{value:F0} ms", "s" => $"{value:F2} s", _ => $"{value:F2}",
    };
}
