using MiniGlm.Model;
using MiniGlm.Evaluation;

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
        cl.RejectUnknown("eval");
        if (checkpoints.Count == 0) throw new MiniGlmException("eval: missing --ckpt (the checkpoint or run directory to evaluate)");

        using var shutdown = new Shutdown("stopping the evaluation; nothing will be written");
        EvalResults results;
        try { results = Evaluator.Run(request, new Progress(), shutdown.Token); }
        catch (OperationCanceledException) { Console.Error.WriteLine("eval: stopped; no report written"); return 130; }

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
