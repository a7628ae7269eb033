using System.Text.RegularExpressions;

namespace MiniGlm.Tokenization;

/// How text is cut into pre-tokens before BPE. A tokenizer's pattern is recorded in its spec (meta.json,
/// config.json), so a checkpoint always encodes with the pattern it was trained with.
///
/// Trained tokenizers use llama 3's pattern (GPT-4's cl100k), written as llama.cpp writes it: llama.cpp knows
/// pre-tokenizers only by name and this is its `llama-bpe`, which it splits with a hand-written scanner, and Hugging
/// Face's tokenizers read the same regex from tokenizer.json; so our ids, theirs and llama.cpp's are the same on any
/// text. A run of letters is one pre-token, a whole line of Chinese included; TextTokenizer keeps long runs linear.
/// Tokenizers trained before cut Han two characters at a time (<see cref="HanPairs"/>), which no other tool does:
/// they still load and encode as trained, and their GGUF export falls back to `llama-bpe` (docs/formats.md).
/// Every character matches some alternative, so no text is dropped; a match never spans a newline followed by a
/// non-space, so text may be encoded in pieces cut there (see TextChunker.IsNewlineCut).
public static class PreTokenPattern
{
    /// llama.cpp's form of llama 3's regex (its contractions as explicit [sS] classes, not `(?i:…)`), to the byte.
    public const string Llama3 =
        @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// What `tokenizer train` uses now.
    public const string Default = Llama3;

    /// The pattern of tokenizers trained before: llama 3's with Han characters (the BMP's CJK blocks) taken at most
    /// two at a time, matched on UTF-16 units (a character beyond the BMP counts as two punctuation units).
    public const string HanPairs =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}-[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]]+" +
        @"|[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]{1,2}|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// A short name for messages: which pre-tokenizer a pattern is.
    public static string NameOf(string? pattern) => pattern switch
    {
        Llama3 => "llama-bpe",
        HanPairs => "Han pairs (before llama-bpe)",
        TextTokenizer.Gpt2Pattern => "gpt-2",
        _ => "custom",
    };

    public static Regex Compile(string pattern) => new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
}
