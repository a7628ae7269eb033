using System.Text.Json.Serialization;
using MiniGlm.Checkpoints;
using MiniGlm.Interop.Gguf;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Cli.LlamaCpp;

public sealed record TokenizerComparison
{
    [JsonPropertyName("pre_tokenizer")] public required string PreTokenizer { get; init; }
    [JsonPropertyName("lines")] public int Lines { get; init; }
    [JsonPropertyName("chars")] public long Chars { get; init; }
    [JsonPropertyName("our_ids")] public long OurIds { get; init; }
    [JsonPropertyName("llama_cpp_ids")] public long TheirIds { get; init; }
    [JsonPropertyName("lines_differing")] public int LinesDiffering { get; init; }
    /// Our ids that are not in a longest common subsequence with llama.cpp's, summed over the lines.
    [JsonPropertyName("our_ids_unmatched")] public long OurIdsUnmatched { get; init; }
}

/// `tokenizer stats --compare llama.cpp`: how many ids llama.cpp's tokenizer (reading our GGUF export) makes
/// differently from ours, line by line. The tokenizer travels in a GGUF of a tiny random model: only its
/// tokenizer is used.
public static class LlamaCppTokenizerComparison
{
    public static TokenizerComparison Run(TextTokenizer tokenizer, IEnumerable<string> files, long maxChars)
    {
        var work = Directory.CreateTempSubdirectory("miniglm-tok-");
        try
        {
            var ckpt = Path.Combine(work.FullName, "model");
            using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 1, NEmbd = 32, BlockSize = 8, VocabSize = GptConfig.PadVocab(tokenizer.VocabSize) }))
                CheckpointStore.Save(ckpt, model, new CheckpointConfig { Model = model.Config, Tokenizer = tokenizer.Spec, Train = new TrainConfig() }, new TrainerState(), null);
            var gguf = Path.Combine(work.FullName, "model.gguf");
            var export = GgufExport.Run(ckpt, gguf, GgufFileType.F32, force: false);
            using var llama = new LlamaCppModel(gguf, 8, threads: 1);
            int lines = 0, differing = 0;
            long chars = 0, ours = 0, theirs = 0, unmatched = 0;
            foreach (var line in Lines(files, maxChars))
            {
                var a = tokenizer.Encode(line);
                var b = llama.Tokenize(line);
                lines++; chars += line.Length; ours += a.Count; theirs += b.Length;
                if (a.SequenceEqual(b)) continue;
                differing++;
                unmatched += a.Count - CommonSubsequence(a, b);
            }
            return new TokenizerComparison
            {
                PreTokenizer = export.PreTokenizer, Lines = lines, Chars = chars, OurIds = ours, TheirIds = theirs,
                LinesDiffering = differing, OurIdsUnmatched = unmatched,
            };
        }
        finally { work.Delete(true); }
    }

    /// Non-empty lines with their newline, up to maxChars characters in all (0 = everything).
    private static IEnumerable<string> Lines(IEnumerable<string> files, long maxChars)
    {
        long chars = 0;
        foreach (var file in files)
            foreach (var line in File.ReadLines(file))
            {
                if (line.Length == 0) continue;
                if (maxChars > 0 && chars >= maxChars) yield break;
                chars += line.Length + 1;
                yield return line + "\n";
            }
    }

    private static int CommonSubsequence(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++) cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            (prev, cur) = (cur, prev);
        }
        return prev[b.Count];
    }
}
