using System.Text.Json.Serialization;
using MiniGlm.Generation;

namespace MiniGlm.Data;

/// How SFT examples are laid out in rows of block_size + 1 tokens (meta.json spells it "packed" or "padded").
[JsonConverter(typeof(JsonStringEnumConverter<SftLayout>))]
public enum SftLayout
{
    /// Several whole examples per row (first fit, in order), with a document id per token.
    [JsonStringEnumMemberName("packed")] Packed,
    /// One example per row, padded (the seed's layout).
    [JsonStringEnumMemberName("padded")] Padded,
}

/// The `prepare-sft` stage's settings (its command-line options).
public sealed record SftOptions
{
    /// JSON Lines files of conversations.
    public required IReadOnlyList<string> Inputs { get; init; }
    /// Directory to write the .bin files and meta.json into.
    public required string OutDir { get; init; }
    /// Tokens a row feeds the model; each row holds block_size + 1 tokens (inputs plus the last target).
    public int BlockSize { get; init; } = 512;
    /// The last fraction of the kept examples, in file order, that becomes val; in [0, 1). Ignored with ValInputs.
    public double ValFraction { get; init; } = 0.1;
    /// Files whose examples are the val split instead of a fraction of Inputs.
    public IReadOnlyList<string>? ValInputs { get; init; }
    public SftLayout Layout { get; init; } = SftLayout.Packed;
    /// A malformed line is fatal instead of skipped.
    public bool Strict { get; init; }
    public ChatTemplate Template { get; init; } = ChatTemplate.Seed;

    /// Parses a --layout value.
    public static SftLayout ParseLayout(string value) => value switch
    {
        "packed" => SftLayout.Packed,
        "padded" => SftLayout.Padded,
        _ => throw new MiniGlmException($"--layout: expected packed or padded, got '{value}'"),
    };
}
