using MiniGlm.Model;
using MiniGlm.Evaluation;
using MiniGlm.Evaluation.Judging;
using MiniGlm.Remote;

namespace MiniGlm.Cli.Commands;

public static class EvalCommand
{
    private static readonly EvalSettings Defaults = new(); // the defaults, stated once there

    private static string Usage => $$"""
        usage: ./miniglm eval --ckpt DIR [--ckpt DIR …] [--dataset DIR] [--qa FILE …] --out DIR [options]
          Evaluates checkpoints side by side and writes results.json, report.md and report.html (one
          self-contained file) to --out.
          --ckpt DIR              a checkpoint or run directory (its best/, else latest/); repeat to compare
          --dataset DIR           a prepared pretraining dataset: val loss, perplexity, bits per character
          --qa FILE               QA JSON Lines {"Question","Answer","Type"?,"Key"?}; repeat for several files
          --out DIR               where the report goes (reports/eval)
          --limit N               only N questions of each file, taken in turn from each question type
          --lm_windows N          val windows of block_size tokens to score ({{Defaults.LmWindows}})
          --samples N             questions shown with every model's answer in the report ({{Defaults.Samples}})
          A language model as judge (any OpenAI-compatible server: Ollama, llama.cpp, vLLM, OpenAI, ./miniglm serve):
          --judge URL             its API base, e.g. http://127.0.0.1:11434/v1; grades every answer against its
                                  reference (correct/partly/wrong, fluency 1-5, a reason) and, with two or more
                                  --ckpt, compares the first with each other one on every question, both orders
          --judge_model NAME      the judge model's name (required with --judge)
          --judge_key_env VAR     the environment variable holding its API key (sent as a bearer token)
          --judge_rubric FILE     the grading prompt instead of the built-in one ({question}, {reference},
                                  {answer}; the reply must stay the JSON line the built-in one asks for)
          --judge_concurrency N   requests at once (4); --judge_timeout S (120); --judge_retries N (5)
          --judge_cache FILE      replies kept by (judge, model, prompt) so a rerun asks nothing again
                                  (OUT/judge-cache.jsonl)
          Decoding is greedy unless you pass --temperature; sampling options:
        """;

    public static int Run(CommandLine cl)
    {
        var d = Defaults;
        if (cl.Has("help")) { Console.WriteLine(Usage + SamplingArgs.Help(d.Sampling, d.Dtype)); return 0; }
        var checkpoints = cl.Values("ckpt");
        var qa = cl.Values("qa");
        var request = new EvalRequest
        {
            Checkpoints = checkpoints,
            Dataset = cl.Get("dataset"),
            QaFiles = qa,
            Settings = new EvalSettings
            {
                Sampling = SamplingArgs.Read(cl, d.Sampling),
                Dtype = SamplingArgs.Dtype(cl, d.Dtype),
                Limit = cl.Get("limit") is null ? null : cl.Int("limit", 0, min: 1),
                LmWindows = cl.Int("lm_windows", d.LmWindows, min: 1),
                Samples = cl.Int("samples", d.Samples, min: 0),
            },
        };
        var outDir = cl.Get("out") ?? Path.Combine("reports", "eval");
        var judge = JudgeArgs(cl, outDir);
        cl.RejectUnknown("eval");
        if (checkpoints.Count == 0) throw new MiniGlmException("eval: missing --ckpt (the checkpoint or run directory to evaluate)");

        using var shutdown = new Shutdown("stopping the evaluation; nothing will be written");
        EvalResults results;
        try { results = Evaluator.Run(request, new Progress(), shutdown.Token); }
        catch (OperationCanceledException) { Console.Error.WriteLine("eval: stopped; no report written"); return 130; }
        if (judge is not null)
        {
            try { results = results with { Judge = RunJudge(results, judge, shutdown.Token) }; }
            catch (OperationCanceledException) { Console.Error.WriteLine("eval: stopped while judging; no report written (the judge's replies so far are cached)"); return 130; }
        }

        foreach (var file in results.QaFiles)
        {
            foreach (var problem in file.Problems.Take(10)) Console.Error.WriteLine($"skipped: {problem}");
            if (file.Problems.Count > 10) Console.Error.WriteLine($"… and {file.Problems.Count - 10} more in {file.Path} (all listed in the report)");
        }
        var files = EvalReport.Write(results, outDir);
        if (files.Warning is not null) Console.Error.WriteLine($"warning: {files.Warning}");
        Console.WriteLine($"wrote {files.Html}, {files.Markdown} and {files.Results}");
        foreach (var c in results.Checkpoints)
            foreach (var f in c.QaFiles)
                Console.WriteLine($"{c.Name} · {f.Path}: Rouge-L F {f.All.RougeL:0.000}, U+FFFD {f.All.BrokenRate:P1}" +
                    string.Concat(f.Types.Where(t => t.Value.KeyMatch is not null).Select(t => $"; {t.Key} {t.Value.KeyMatch:P0} of {t.Value.KeyedCount}")));
        for (int i = 0; i < results.Checkpoints.Count; i++)
            if (MultiTurnComparison.Of(results.Questions, i) is { Count: > 0 } rows)
                Console.WriteLine($"{results.Checkpoints[i].Name} · key match alone → last in a conversation: " +
                    string.Join("; ", rows.Select(t => $"{t.Type} {t.Alone:P0} → {t.InConversation:P0} of {t.Pairs}")));
        return 0;
    }

    private static JudgeOptions? JudgeArgs(CommandLine cl, string outDir)
    {
        var url = cl.Get("judge");
        var keyVar = cl.Get("judge_key_env");
        var options = new JudgeOptions
        {
            Endpoint = new ChatEndpointOptions
            {
                Url = url ?? "",
                Model = url is null ? cl.Get("judge_model") ?? "" : cl.Require("judge_model", "the judge model's name (with --judge)"),
                ApiKey = keyVar is null ? null : Environment.GetEnvironmentVariable(keyVar)
                    ?? throw new MiniGlmException($"--judge_key_env {keyVar}: that environment variable is not set"),
                KeyHint = keyVar is null ? "give the key with --judge_key_env VAR" : $"check the key in ${keyVar}",
                Temperature = 0,
                MaxOutputTokens = 256,
                Timeout = TimeSpan.FromSeconds(cl.Double("judge_timeout", 120)),
                Retries = cl.Int("judge_retries", 5, min: 0),
            },
            RubricFile = cl.Get("judge_rubric"),
            Concurrency = cl.Int("judge_concurrency", 4, min: 1),
            CachePath = cl.Get("judge_cache") ?? Path.Combine(outDir, "judge-cache.jsonl"),
        };
        if (url is null)
        {
            var stray = new[] { "judge_model", "judge_key_env", "judge_rubric", "judge_concurrency", "judge_timeout", "judge_retries", "judge_cache" }.FirstOrDefault(cl.Has);
            if (stray is not null) throw new MiniGlmException($"eval: --{stray} needs --judge URL");
            return null;
        }
        if (options.Endpoint.Timeout <= TimeSpan.Zero) throw new MiniGlmException("eval: --judge_timeout must be positive (seconds)");
        if (options.RubricFile is not null) Rubric.Load(options.RubricFile); // a bad rubric fails before any model loads
        _ = new ChatEndpoint(options.Endpoint); // so does a bad URL
        return options;
    }

    private static JudgeResults RunJudge(EvalResults results, JudgeOptions options, CancellationToken cancel)
    {
        Console.WriteLine($"judging with {options.Endpoint.Model} at {options.Endpoint.Url} ({options.Concurrency} at a time)");
        var judged = Judge.RunAsync(results, options, (done, total) =>
        {
            if (done == total || done % Math.Max(1, total / 10) == 0) Console.WriteLine($"  judged {done}/{total}");
        }, cancel).GetAwaiter().GetResult();
        var c = judged.Cost;
        Console.WriteLine($"judge cost: {c.Requests} requests ({c.Cached} from the cache, {c.Retried} retried), " +
                          $"{c.PromptTokens:N0} prompt + {c.CompletionTokens:N0} completion tokens");
        foreach (var g in judged.Graded)
            Console.WriteLine($"{g.Checkpoint} · judge: " + (g.Judged == 0 ? "no verdict" :
                $"correct {(double)g.Correct / g.Judged:P0}, partly {(double)g.Partly / g.Judged:P0}, wrong {(double)g.Wrong / g.Judged:P0}, " +
                $"score {g.Score:0.000}, fluency {g.Fluency:0.00}") +
                $" ({g.Judged} judged, {g.Unparseable} unparseable, {g.Refused} refused, {g.Failed} failed)");
        foreach (var p in judged.Pairwise)
            Console.WriteLine($"{p.A} vs {p.B} · judge: {p.Wins} wins, {p.Ties} ties, {p.Losses} losses" +
                (p.WinRate is { } w ? $"; win rate {w:P1}" + (p.CiLow is { } lo ? $" (95 % CI {lo:P1} – {p.CiHigh:P1})" : "") : "") +
                (p.Unjudged > 0 ? $"; {p.Unjudged} unjudged" : ""));
        if (judged.Errors.Count > 0)
            Console.Error.WriteLine($"judge: {c.Failed} of {c.Requests} requests failed ({judged.Errors[0]}); the report's judgement is partial; " +
                                    "rerun to ask the rest (answered prompts are cached)");
        return judged;
    }

    private sealed class Progress : IEvalObserver
    {
        public void CheckpointStarted(int index, int count, string name, string dir) =>
            Console.WriteLine($"[{index + 1}/{count}] {name} ({dir})");

        public void LanguageModelDone(string name, LanguageModelScore s) =>
            Console.WriteLine($"  val loss {s.Loss:0.0000}, perplexity {s.Perplexity:0.00}, {s.BitsPerChar:0.000} bits/char " +
                              $"({s.Windows} windows × {s.BlockSize} tokens, {s.Seconds:0.0}s)");

        public void Answered(string name, int done, int total)
        {
            if (done == total || done % Math.Max(1, total / 10) == 0) Console.WriteLine($"  answered {done}/{total}");
        }

        public void QaDone(string name, QaSummary s) =>
            Console.WriteLine($"  Rouge-L F {s.RougeL:0.000}, char F1 {s.CharF1:0.000}" +
                              (s.KeyMatch is { } k ? $", key match {k:P1}" : "") +
                              $"; empty {s.EmptyRate:P1}, U+FFFD {s.BrokenRate:P1}, repetitive {s.RepetitiveRate:P1}, truncated {s.TruncatedRate:P1}; " +
                              $"{s.TokensPerSec:0.0} tokens/s");
    }
}
