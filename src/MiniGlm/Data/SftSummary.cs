using System.Text.Json.Serialization;

namespace MiniGlm.Data;

/// What prepare-sft did with its input; returned and stored in meta.json under "sft".
public sealed record SftSummary
{
    /// Non-blank lines of the input files (train and val inputs).
    [JsonPropertyName("examples_read")] public int ExamplesRead { get; init; }
    [JsonPropertyName("examples_kept")] public int ExamplesKept { get; init; }
    /// Skipped examples by reason (malformed lines and examples that do not fit).
    [JsonPropertyName("skipped")] public IReadOnlyDictionary<string, int> Skipped { get; init; } = new Dictionary<string, int>();
    /// Kept examples whose last answer lost its tail to block_size.
    [JsonPropertyName("truncated")] public int Truncated { get; init; }
    /// The most question/answer turns in one kept example: 1 means the model only ever saw single questions.
    /// It travels into the checkpoint (max_turns), where it decides how much of a conversation chat sends.
    [JsonPropertyName("max_turns")] public int MaxTurns { get; init; }
    [JsonPropertyName("train_examples")] public int TrainExamples { get; init; }
    [JsonPropertyName("val_examples")] public int ValExamples { get; init; }
    [JsonPropertyName("train_rows")] public long TrainRows { get; init; }
    [JsonPropertyName("val_rows")] public long ValRows { get; init; }
    /// Padding tokens / all tokens, over train and val, for the layout used.
    [JsonPropertyName("padding_fraction")] public double PaddingFraction { get; init; }
}

/// What prepare-sft made; Problems holds one `FILE:LINE: reason: detail` message per skipped line.
public sealed record SftPrepareResult(DatasetMeta Meta, SftSummary Summary, IReadOnlyList<string> Problems);
