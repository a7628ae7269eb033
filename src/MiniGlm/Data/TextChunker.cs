using System.Globalization;
using System.Text;

namespace MiniGlm.Data;

/// A piece of text to encode on its own, and where its ids go.
internal readonly record struct TextChunk(string Text, bool IsVal, bool EotAfter);

/// Cuts a stream of text into chunks of about ChunkChars that can be encoded independently (in parallel) and
/// still give exactly the ids of encoding the whole segment at once. Segments end at forced cuts: a file's end
/// (followed by the end-of-text id) and the train/val split.
internal sealed class TextChunker(int chunkChars, TextChunker.CutRule isSafeCut, Action<TextChunk> emit)
{
    /// Whether encoding text[..p] and text[p..] apart gives the ids of encoding text.
    public delegate bool CutRule(ReadOnlySpan<char> text, int p);

    private char[] buffer = new char[Math.Max(16, 2 * chunkChars)];
    private int start, length;
    private int scannedTo = -1;   // when >= 0: no safe cut in (start, scannedTo), keep looking from there

    public void Append(ReadOnlySpan<char> text, bool isVal)
    {
        if (length + text.Length > buffer.Length)
        {
            // Drop the emitted prefix first; grow only if a chunk without a safe cut is longer than the buffer.
            int pending = length - start;
            var target = pending + text.Length > buffer.Length ? new char[Math.Max(2 * buffer.Length, pending + text.Length)] : buffer;
            Array.Copy(buffer, start, target, 0, pending);
            if (scannedTo >= 0) scannedTo -= start;
            buffer = target; start = 0; length = pending;
        }
        text.CopyTo(buffer.AsSpan(length));
        length += text.Length;

        while (length - start > chunkChars)
        {
            int cut = -1;
            if (scannedTo < 0)
            {
                // Latest safe cut at or before the target end; p = length is never tried: text[p] is unknown yet.
                for (int p = start + chunkChars; p > start && cut < 0; p--) if (isSafeCut(buffer, p)) cut = p;
                scannedTo = start + chunkChars + 1;
            }
            // Pathological text (say, one long run of letters): take the first safe cut after the target.
            for (int p = scannedTo; p < length && cut < 0; p++) if (isSafeCut(buffer, p)) cut = p;
            if (cut < 0) { scannedTo = length; return; }
            emit(new TextChunk(new string(buffer, start, cut - start), isVal, EotAfter: false));
            start = cut;
            scannedTo = -1;
        }
    }

    /// A forced cut: emits everything pending (if anything, or if an end-of-text id must follow).
    public void Flush(bool isVal, bool eotAfter)
    {
        if (length > start || eotAfter) emit(new TextChunk(new string(buffer, start, length - start), isVal, eotAfter));
        start = length = 0;
        scannedTo = -1;
    }

    /// Whether the GPT-2 pre-tokenizer regex
    ///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    /// always has a match boundary between text[p-1] and text[p], whatever follows, so that encoding text[..p] and
    /// text[p..] separately gives the ids of encoding text. Every alternative except the whitespace ones matches a
    /// run of one class (an optional leading space aside); whitespace runs and their look-ahead only matter when
    /// text[p-1] is whitespace; contractions start with an apostrophe; and the pattern has no look-behind. So a
    /// class change after a non-space, non-apostrophe char is a boundary. The pattern is matched on code points
    /// (Tokenization.PreTokenSplitter), so the classes are those of the code points on either side; a surrogate pair
    /// is never split.
    public static bool IsSafeCut(ReadOnlySpan<char> text, int p)
    {
        char before = text[p - 1];
        if (before == '\'' || char.IsHighSurrogate(before)) return false;
        // A lone surrogate decodes to U+FFFD, a symbol: "other", as the regex sees it.
        Rune.DecodeLastFromUtf16(text[..p], out var last, out _);
        Rune.DecodeFromUtf16(text[p..], out var next, out _);
        int c = Class(last);
        return c != Whitespace && c != Class(next);
    }

    /// The cut rule for PreTokenPattern: after a line end and before a non-space, where no match can continue.
    public static bool IsNewlineCut(ReadOnlySpan<char> text, int p) => text[p - 1] == '\n' && !char.IsWhiteSpace(text[p]);

    private const int Whitespace = 0, Letter = 1, Number = 2, Other = 3;

    private static int Class(Rune c)
    {
        if (Rune.IsWhiteSpace(c)) return Whitespace;
        return Rune.GetUnicodeCategory(c) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }
}
