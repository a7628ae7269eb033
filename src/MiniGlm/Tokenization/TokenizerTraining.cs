using System.Diagnostics;
using MiniGlm.Data;

namespace MiniGlm.Tokenization;

public sealed record TokenizerTrainOptions
{
    /// Files, directories (every *.txt below) or globs, as for prepare.
    public required IReadOnlyList<string> Inputs { get; init; }
    public required string OutPath { get; init; }
    /// Every id, special tokens included: the model's vocabulary before padding.
    public int VocabSize { get; init; } = 8192;
    /// Train on about the first this many characters (whole lines); 0 = all.
    public long MaxChars { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
}

public sealed record TokenizerTrainResult(TokenizerSpec Spec, long Chars, int DistinctPreTokens, int Tokens,
    double CountSeconds, double MergeSeconds);

/// `tokenizer train`: count pre-tokens, learn the merges, write the rank file.
public static class TokenizerTraining
{
    public static TokenizerTrainResult Run(TokenizerTrainOptions options, Action<string>? log = null)
    {
        int specials = TiktokenFile.ReservedSpecials.Count;
        if (options.VocabSize < 256 + specials || options.VocabSize > TokenFileWriter.MaxVocabSize)
            throw new MiniGlmException($"--vocab_size must be in {256 + specials}…{TokenFileWriter.MaxVocabSize} (256 bytes + {specials} special tokens at least; ids must fit uint16), got {options.VocabSize}");
        var files = CorpusSources.Expand(options.Inputs);
        var clock = Stopwatch.StartNew();
        var counted = PreTokenCounter.Count(files, PreTokenPattern.Default, options.MaxChars, options.Threads);
        if (counted.Counts.Count == 0) throw new MiniGlmException($"{string.Join(' ', options.Inputs)}: no text to train on");
        double countSeconds = clock.Elapsed.TotalSeconds;
        log?.Invoke($"{files.Count} file(s), {counted.Chars:N0} characters, {counted.Counts.Count:N0} distinct pre-tokens counted in {countSeconds:F1} s");
        clock.Restart();
        int ranks = options.VocabSize - specials;
        var tokens = BpeTrainer.Train(counted.Counts, ranks, n => { if (n % 1000 == 0) log?.Invoke($"{n} tokens ({clock.Elapsed.TotalSeconds:F1} s)"); });
        double mergeSeconds = clock.Elapsed.TotalSeconds;
        if (tokens.Count < ranks)
            log?.Invoke($"the corpus ran out of pairs to merge: {tokens.Count + specials} ids instead of {options.VocabSize}");
        TiktokenFile.Write(options.OutPath, tokens);
        return new TokenizerTrainResult(TiktokenFile.Describe(options.OutPath), counted.Chars, counted.Counts.Count,
            tokens.Count + specials, countSeconds, mergeSeconds);
    }
}
