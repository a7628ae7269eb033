using MiniGlm.Data;
using MiniGlm.Tokenization;
using Spectre.Console;

namespace MiniGlm.Cli.Commands;

public static class PrepareCommand
{
    private const string Usage = """
        usage: ./miniglm prepare --input PATH [PATH …] --out DIR [--tokenizer gpt2|FILE] [--val_fraction 0.1] [--replace_invalid] [--threads N]
          Tokenizes UTF-8 text into DIR/train.bin and DIR/val.bin (uint16, nanoGPT's layout) and DIR/meta.json.
          PATH may be a file, a directory (every *.txt below it) or a glob (novels/*.txt, books/**/*.txt).
          The text's first 90 % of characters (1 - val_fraction) is train, the rest val. Each file ends with
          <|endoftext|>. Invalid UTF-8 is an error unless --replace_invalid.
          --tokenizer: gpt2 (default), a .tiktoken file from ./miniglm tokenizer train (copied into DIR), or a
          dataset or checkpoint directory to take the tokenizer from.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        var inputs = cl.Values("input").Concat(cl.Positionals).ToList();
        if (inputs.Count == 0) throw new MiniGlmException("prepare: missing --input (files, directories or globs of .txt)");
        var options = new PrepareOptions
        {
            Inputs = inputs,
            OutDir = cl.Require("out", "the dataset directory to write, e.g. data/novels"),
            ValFraction = cl.Double("val_fraction", 0.1),
            ReplaceInvalid = cl.Flag("replace_invalid"),
            Threads = cl.Int("threads", Environment.ProcessorCount, min: 1),
        };
        var tokenizer = TokenizerArg.Load(cl.Get("tokenizer"));
        cl.RejectUnknown("prepare");

        var result = Console.IsOutputRedirected ? Plain(options, tokenizer) : WithBar(options, tokenizer);
        foreach (var w in result.Warnings) Console.Error.WriteLine($"warning: {w}");
        var m = result.Meta;
        long chars = m.TrainChars + m.ValChars, tokens = m.TrainTokens + m.ValTokens;
        Console.WriteLine($"{m.Sources.Count} file(s), {result.Bytes / 1e6:F1} MB, {chars:N0} characters → {tokens:N0} tokens " +
                          $"({(double)tokens / Math.Max(1, chars):F2} per character) with {m.Tokenizer}");
        Console.WriteLine($"train.bin {m.TrainTokens:N0} tokens, val.bin {m.ValTokens:N0} tokens in {options.OutDir}; " +
                          $"{result.Seconds:F1} s, {result.MBPerSecond:F1} MB/s");
        return 0;
    }

    private static PrepareResult Plain(PrepareOptions options, TextTokenizer tokenizer)
    {
        var last = DateTime.MinValue;
        return CorpusPreparer.Prepare(options, tokenizer, p =>
        {
            if (p.Warning is not null || (DateTime.UtcNow - last).TotalSeconds < 5) return;
            last = DateTime.UtcNow;
            Console.WriteLine($"{p.Phase.ToString().ToLowerInvariant()}: {p.Fraction * 100:F0}% ({p.BytesDone / 1e6:F1}/{p.BytesTotal / 1e6:F1} MB, {p.MBPerSecond:F1} MB/s)");
        });
    }

    private static PrepareResult WithBar(PrepareOptions options, TextTokenizer tokenizer)
    {
        PrepareResult? result = null;
        AnsiConsole.Progress().AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<PreparePhase, ProgressTask>();
                result = CorpusPreparer.Prepare(options, tokenizer, p =>
                {
                    if (p.Warning is not null) return;
                    if (!tasks.TryGetValue(p.Phase, out var t))
                        tasks[p.Phase] = t = ctx.AddTask(p.Phase == PreparePhase.Scan ? "check UTF-8" : "tokenize", maxValue: Math.Max(1, p.BytesTotal));
                    t.Value = p.BytesDone;
                });
            });
        return result!;
    }
}
