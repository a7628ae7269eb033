using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Tokenization;

/// Where a tokenizer comes from; stored in a dataset's meta.json and in every checkpoint so consumers never need
/// to be told which tokenizer a model uses. Either GPT-2's (`tiktoken`/`gpt2`, shipped with Microsoft.ML.Tokenizers)
/// or a trained one (`tiktoken-file`): a rank file kept beside the meta.json / config.json that names it, with
/// its SHA-256, its pre-tokenizer pattern and its special tokens; or a character vocabulary (`chars`, nanoGPT's
/// meta.pkl), whose characters are listed in the spec itself.
public sealed record TokenizerSpec
{
    public const string FileType = "tiktoken-file";
    public const string CharsType = "chars";
    /// The name of the rank file inside a dataset or checkpoint directory.
    public const string StoredFileName = "tokenizer.tiktoken";

    [JsonPropertyName("type")] public string Type { get; init; } = "tiktoken";
    [JsonPropertyName("name")] public string Name { get; init; } = "gpt2";
    [JsonPropertyName("file"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FileName { get; init; }
    /// Lowercase hex SHA-256 of the rank file: what identifies a trained tokenizer.
    [JsonPropertyName("sha256"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Sha256 { get; init; }
    [JsonPropertyName("pattern"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Pattern { get; init; }
    [JsonPropertyName("special_tokens"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, int>? SpecialTokens { get; init; }
    /// The characters of a `chars` vocabulary, id i = Chars[i]; `<|endoftext|>` is id Chars.Count.
    [JsonPropertyName("chars"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<string>? Chars { get; init; }
    /// The directory FileName is relative to: set by whoever read the spec (DatasetMeta.Load, CheckpointStore).
    [JsonIgnore] public string? BaseDirectory { get; init; }

    public static TokenizerSpec Gpt2 { get; } = new();

    [JsonIgnore] public bool IsFile => Type == FileType;

    [JsonIgnore] public string? FilePath => IsFile ? Path.Combine(BaseDirectory ?? ".", FileName ?? StoredFileName) : null;

    /// Same tokenizer: same ids for every text. Where the file lives and what it is called do not matter.
    public bool Equals(TokenizerSpec? other) =>
        other is not null && Type == other.Type && (IsFile
            ? Sha256 == other.Sha256 && Pattern == other.Pattern && SameSpecials(SpecialTokens, other.SpecialTokens)
            : Type == CharsType ? (Chars ?? []).SequenceEqual(other.Chars ?? [])
            : Name == other.Name);

    public override int GetHashCode() => HashCode.Combine(Type, IsFile ? Sha256 : Type == CharsType ? Chars?.Count.ToString() : Name);

    /// Names the pre-tokenizer only where it is not the one trained tokenizers use now, so two specs that differ
    /// only there do not print alike.
    public override string ToString() => IsFile
        ? $"{Name} (sha256 {Sha256?[..Math.Min(12, Sha256.Length)]}…{(Pattern == PreTokenPattern.Default ? "" : $", pre-tokenizer {PreTokenPattern.NameOf(Pattern)}")})"
        : Name;

    /// Puts this tokenizer's rank file into dir (as tokenizer.tiktoken, verified against Sha256) and returns the
    /// spec that points there; GPT-2 needs no file and is returned as is.
    public TokenizerSpec SaveTo(string dir)
    {
        if (!IsFile) return this;
        var target = Path.Combine(dir, StoredFileName);
        if (Path.GetFullPath(FilePath!) != Path.GetFullPath(target))
            AtomicFile.WriteAllBytes(target, TiktokenFile.ReadVerified(this));
        return this with { FileName = StoredFileName, BaseDirectory = dir };
    }

    private static bool SameSpecials(IReadOnlyDictionary<string, int>? a, IReadOnlyDictionary<string, int>? b) =>
        (a ?? new Dictionary<string, int>()).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .SequenceEqual((b ?? new Dictionary<string, int>()).OrderBy(kv => kv.Key, StringComparer.Ordinal));
}
