using System.Text.Json;
using MiniGlm.Data;
using MiniGlm.IO;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli.Commands;

public static class TokenizerCommand
{
    private const string Usage = """
        usage: ./miniglm tokenizer train --input PATH [PATH …] --out FILE.tiktoken [--vocab_size 8192] [--max_chars N] [--threads N]
          Trains a byte-level BPE tokenizer on UTF-8 text (files, directories of *.txt, globs) and writes its ranks
          in tiktoken's format. --vocab_size counts every id, the 4 reserved special tokens (<|endoftext|>,
          <|system|>, <|user|>, <|assistant|>) included; at most 65536. --max_chars trains on the first N characters (e.g. 20e6).
          Use it with: ./miniglm prepare --tokenizer FILE.tiktoken …
        usage: ./miniglm tokenizer stats --input PATH [PATH …] [--tokenizer gpt2|FILE|DIR] [--out FILE.json] [--compare llama.cpp [--max_chars N]]
          Tokens per character, bytes per token and a round-trip check (decode(encode(text)) == text).
          --compare llama.cpp: instead, how many ids llama.cpp's tokenizer (our GGUF export) makes differently, line by line.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.FirstOrDefault() is not ("train" or "stats")) { Console.WriteLine(Usage); return cl.Has("help") ? 0 : 2; }
        var inputs = cl.Values("input").Concat(cl.Positionals.Skip(1)).ToList();
        if (inputs.Count == 0) throw new MiniGlmException($"tokenizer {cl.Positionals[0]}: missing --input (files, directories or globs of .txt)");
        return cl.Positionals[0] == "train" ? Train(cl, inputs) : Stats(cl, inputs);
    }

    private static int Train(CommandLine cl, List<string> inputs)
    {
        var options = new TokenizerTrainOptions
        {
            Inputs = inputs,
            OutPath = cl.Require("out", "the rank file to write, e.g. data/tok/poetry.tiktoken"),
            VocabSize = cl.Int("vocab_size", 8192),
            MaxChars = (long)cl.Double("max_chars", 0),
            Threads = cl.Int("threads", Environment.ProcessorCount, min: 1),
        };
        cl.RejectUnknown("tokenizer");
        if (options.MaxChars < 0) throw new MiniGlmException($"--max_chars must be >= 0 (0 = all), got {options.MaxChars}");
        var r = TokenizerTraining.Run(options, Console.WriteLine);
        Console.WriteLine($"wrote {options.OutPath}: {r.Tokens:N0} ids ({r.Tokens - r.Spec.SpecialTokens!.Count:N0} ranks + " +
                          $"{r.Spec.SpecialTokens.Count} special), trained on {r.Chars:N0} characters in {r.CountSeconds + r.MergeSeconds:F1} s " +
                          $"(counting {r.CountSeconds:F1} s, merging {r.MergeSeconds:F1} s); sha256 {r.Spec.Sha256}");
        return 0;
    }

    private static int Stats(CommandLine cl, List<string> inputs)
    {
        var tokenizer = TokenizerArg.Load(cl.Get("tokenizer"));
        var outPath = cl.Get("out");
        if (cl.Get("compare") is { } compare) return CompareWithLlamaCpp(cl, compare, tokenizer, inputs, outPath);
        cl.RejectUnknown("tokenizer");
        var r = TokenizerStats.Measure(tokenizer, CorpusSources.Expand(inputs));
        Console.WriteLine($"{r.Tokenizer}, {r.VocabSize:N0} ids: {r.Chars:N0} characters → {r.Tokens:N0} tokens, " +
                          $"{r.TokensPerChar:F3} tokens/char, {r.BytesPerToken:F2} bytes/token; round trip " +
                          (r.RoundTripFailures == 0 ? "exact" : $"FAILED in {r.RoundTripFailures} block(s)") + $"; {r.Seconds:F1} s");
        if (outPath is not null) AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
        return r.RoundTripFailures == 0 ? 0 : 1;
    }

    private static int CompareWithLlamaCpp(CommandLine cl, string compare, TextTokenizer tokenizer, List<string> inputs, string? outPath)
    {
        if (compare != "llama.cpp") throw new MiniGlmException($"--compare: only llama.cpp can be compared, got '{compare}'");
        long maxChars = (long)cl.Double("max_chars", 0);
        cl.RejectUnknown("tokenizer");
        var r = Cli.LlamaCpp.LlamaCppTokenizerComparison.Run(tokenizer, CorpusSources.Expand(inputs), maxChars);
        Console.WriteLine($"{tokenizer.Spec} against llama.cpp (pre-tokenizer {r.PreTokenizer}): {r.Lines:N0} lines, {r.Chars:N0} characters; " +
                          $"ours {r.OurIds:N0} ids, llama.cpp {r.TheirIds:N0}; {r.LinesDiffering:N0} lines ({100.0 * r.LinesDiffering / Math.Max(1, r.Lines):F2} %) " +
                          $"tokenized differently, {r.OurIdsUnmatched:N0} of our ids ({100.0 * r.OurIdsUnmatched / Math.Max(1, r.OurIds):F2} %) not matched");
        if (outPath is not null) AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
}
