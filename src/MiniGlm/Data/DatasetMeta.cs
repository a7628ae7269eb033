using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Generation;
using MiniGlm.IO;
using MiniGlm.Tokenization;

namespace MiniGlm.Data;

/// One input file of a dataset, as read by prepare.
public sealed record DatasetSource
{
    [JsonPropertyName("path")] public string Path { get; init; } = "";
    [JsonPropertyName("bytes")] public long Bytes { get; init; }
    /// Lowercase hex SHA-256 of the raw file bytes.
    [JsonPropertyName("sha256")] public string Sha256 { get; init; } = "";
    /// Unicode characters (code points) after BOM removal and newline normalisation.
    [JsonPropertyName("chars")] public long Chars { get; init; }
}

/// A prepared dataset's meta.json: what train.bin and val.bin hold and how they were made. Written last by
/// prepare, so its presence (with matching .bin sizes) is what makes a dataset directory trustworthy.
public sealed record DatasetMeta
{
    public const string FileName = "meta.json";
    public const string TrainFileName = "train.bin";
    public const string ValFileName = "val.bin";
    public const string Pretrain = "pretrain";
    public const string Sft = "sft";

    [JsonPropertyName("kind")] public string Kind { get; init; } = "pretrain";
    [JsonPropertyName("tokenizer")] public TokenizerSpec Tokenizer { get; init; } = TokenizerSpec.Gpt2;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("eot_token")] public int EotToken { get; init; }
    [JsonPropertyName("train_tokens")] public long TrainTokens { get; init; }
    [JsonPropertyName("val_tokens")] public long ValTokens { get; init; }
    [JsonPropertyName("train_chars")] public long TrainChars { get; init; }
    [JsonPropertyName("val_chars")] public long ValChars { get; init; }
    [JsonPropertyName("val_fraction")] public double ValFraction { get; init; }
    [JsonPropertyName("sources")] public IReadOnlyList<DatasetSource> Sources { get; init; } = [];
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }

    // SFT datasets only (kind "sft"); absent from a pretrain meta.json. See SftRows for the alignment.
    [JsonPropertyName("layout"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SftLayout? Layout { get; init; }
    [JsonPropertyName("block_size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? BlockSize { get; init; }
    [JsonPropertyName("train_rows"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TrainRows { get; init; }
    [JsonPropertyName("val_rows"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ValRows { get; init; }
    [JsonPropertyName("alignment"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Alignment { get; init; }
    [JsonPropertyName("chat_template"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ChatTemplate? ChatTemplate { get; init; }
    [JsonPropertyName("sft"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SftSummary? SftSummary { get; init; }

    public static string MaskPath(string dir, bool val) => Path.Combine(dir, val ? "val_mask.bin" : "train_mask.bin");
    public static string DocPath(string dir, bool val) => Path.Combine(dir, val ? "val_doc.bin" : "train_doc.bin");

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string TrainPath(string dir) => Path.Combine(dir, TrainFileName);
    public static string ValPath(string dir) => Path.Combine(dir, ValFileName);

    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// Writes dir/meta.json atomically.
    public void Save(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, FileName), ToJson());

    /// Reads dir/meta.json and checks that train.bin and val.bin are the files it describes.
    public static DatasetMeta Load(string dir)
    {
        if (!Directory.Exists(dir))
            throw new MiniGlmException($"{dir}: dataset directory not found; run ./miniglm prepare --input FILES --out {dir} first");
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
            throw new MiniGlmException($"{path}: not found (dataset not prepared, or prepare was interrupted); run ./miniglm prepare --input FILES --out {dir}");
        DatasetMeta? meta;
        try { meta = JsonSerializer.Deserialize<DatasetMeta>(File.ReadAllText(path), Json); }
        catch (JsonException e)
        {
            throw new MiniGlmException($"{path}: not a valid meta.json ({e.Message}); re-run prepare", e);
        }
        if (meta is null || meta.Tokenizer is null)
            throw new MiniGlmException($"{path}: expected an object with a 'tokenizer'; re-run prepare");
        if (meta.TrainTokens < 0 || meta.ValTokens < 0)
            throw new MiniGlmException($"{path}: train_tokens and val_tokens must be >= 0; re-run prepare");
        // A trained tokenizer's rank file lives beside meta.json.
        meta = meta with { Tokenizer = meta.Tokenizer with { BaseDirectory = dir } };
        CheckSize(TrainPath(dir), meta.TrainTokens);
        CheckSize(ValPath(dir), meta.ValTokens);
        if (meta.Kind == Sft)
        {
            CheckSize(MaskPath(dir, val: false), meta.TrainTokens, bytesPerToken: 1);
            CheckSize(MaskPath(dir, val: true), meta.ValTokens, bytesPerToken: 1);
            if (meta.Layout == SftLayout.Packed)
            {
                CheckSize(DocPath(dir, val: false), meta.TrainTokens);
                CheckSize(DocPath(dir, val: true), meta.ValTokens);
            }
        }
        return meta;
    }

    private static void CheckSize(string bin, long tokens, int bytesPerToken = 2)
    {
        if (!File.Exists(bin))
            throw new MiniGlmException($"{bin}: not found but {FileName} says {tokens} tokens; re-run prepare");
        long bytes = new FileInfo(bin).Length;
        if (bytes != bytesPerToken * tokens)
            throw new MiniGlmException($"{bin}: {bytes} bytes but {FileName} says {tokens} tokens; re-run prepare");
    }
}
