using MiniGlm.Data;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli.Commands;

public static class PrepareSftCommand
{
    private const string Usage = """
        usage: ./miniglm prepare-sft --input qa.jsonl [more.jsonl …] --out DIR [--block_size 256]
                                     [--val_fraction 0.1 | --val held_out.jsonl …] [--layout packed|padded] [--strict]
                                     [--tokenizer gpt2|FILE|DIR]
          Turns question/answer JSON Lines into SFT rows with a loss mask on the answers, in the seed's template
          问：{Q}\n答：{A}<|endoftext|>. Lines may be {"Question","Answer"}, {"question","answer"} or
          {"messages":[{"role":"user"|"assistant"|"system","content":…}]} (also "conversations").
          A malformed line is reported with its file and line and skipped (--strict: fatal).
          --block_size   tokens per row (default 256, the seed model's context; must fit the model you fine-tune)
          --layout       packed (default: several examples per row, attention kept within each) or padded (the seed's)
          --tokenizer    the model's tokenizer: gpt2 (default), a .tiktoken file, or (simplest) the pretrained checkpoint
                         or its dataset, e.g. --tokenizer out/pretrain; fine-tuning checks that they match
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        var inputs = cl.Values("input").Concat(cl.Positionals).ToList();
        if (inputs.Count == 0) throw new MiniGlmException("prepare-sft: missing --input (JSON Lines files of questions and answers)");
        var val = cl.Values("val");
        var options = new SftOptions
        {
            Inputs = inputs,
            OutDir = cl.Require("out", "the dataset directory to write, e.g. data/sft"),
            BlockSize = cl.Int("block_size", 256, min: 8),
            ValFraction = cl.Double("val_fraction", 0.1),
            ValInputs = val.Count > 0 ? val : null,
            Layout = SftOptions.ParseLayout(cl.Get("layout") ?? "packed"),
            Strict = cl.Flag("strict"),
        };
        var tokenizer = TokenizerArg.Load(cl.Get("tokenizer"));
        cl.RejectUnknown("prepare-sft");

        var result = SftPreparer.Prepare(options, tokenizer);
        foreach (var problem in result.Problems.Take(20)) Console.Error.WriteLine($"skipped: {problem}");
        if (result.Problems.Count > 20) Console.Error.WriteLine($"… and {result.Problems.Count - 20} more");
        var s = result.Summary;
        Console.WriteLine($"examples: {s.ExamplesRead} read, {s.ExamplesKept} kept, {s.Skipped.Values.Sum()} skipped" +
                          (s.Skipped.Count > 0 ? $" ({string.Join(", ", s.Skipped.Select(kv => $"{kv.Key}: {kv.Value}"))})" : "") +
                          $", {s.Truncated} answers truncated; " +
                          (s.MaxTurns > 1 ? $"conversations of up to {s.MaxTurns} turns" : "single questions only (chat will send only the last question)"));
        Console.WriteLine($"train: {s.TrainExamples} examples in {s.TrainRows} rows; val: {s.ValExamples} examples in {s.ValRows} rows; " +
                          $"layout {options.Layout.ToString().ToLowerInvariant()}, block_size {options.BlockSize}, padding {s.PaddingFraction:P1}; wrote {options.OutDir}");
        return 0;
    }
}
