using System.Text;

namespace MiniGlm.Corpora;

/// A person's own text file, read whole: UTF-8 (with or without a BOM), UTF-16 LE/BE (with a BOM) or GB18030 (GBK
/// and GB2312 are subsets of it), detected in that order, or the encoding given. Line ends become LF and the BOM is
/// dropped. A file that is empty, binary or not in the encoding gets one clear line naming it.
public sealed record TextFile(string Path, string Text, string Encoding)
{
    static TextFile() => System.Text.Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <param name="encoding">null: detect; else a .NET encoding name such as utf-8, utf-16, gb18030, gbk, big5.</param>
    public static TextFile Read(string path, string? encoding = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MiniGlmException($"{path}: cannot read ({e.Message})", e);
        }
        var (text, name) = encoding is null ? Detect(path, bytes) : (Decode(path, bytes, Forced(encoding), encoding), encoding);
        text = text.Replace("\r\n", "\n").Replace('\r', '\n');
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (string.IsNullOrWhiteSpace(text)) throw new MiniGlmException($"{path}: the file is empty");
        int control = text.Count(c => char.IsControl(c) && c is not ('\n' or '\t' or '\f'));
        if (control > 0 && control * 100 >= text.Length)
            throw new MiniGlmException($"{path}: this looks like a binary file, not text ({control:N0} control characters as {name})");
        return new TextFile(path, text, name);
    }

    private static (string Text, string Name) Detect(string path, byte[] b)
    {
        if (b is [0xEF, 0xBB, 0xBF, ..]) return (Decode(path, b[3..], Strict(new UTF8Encoding(false)), "utf-8"), "utf-8 (BOM)");
        if (b is [0xFF, 0xFE, ..]) return (Decode(path, b[2..], Strict(new UnicodeEncoding(false, false)), "utf-16le"), "utf-16le (BOM)");
        if (b is [0xFE, 0xFF, ..]) return (Decode(path, b[2..], Strict(new UnicodeEncoding(true, false)), "utf-16be"), "utf-16be (BOM)");
        if (Array.IndexOf(b, (byte)0) >= 0) throw new MiniGlmException($"{path}: this looks like a binary file, not text (it holds NUL bytes; a UTF-16 file needs its BOM, or give --encoding utf-16)");
        if (TryDecode(b, Strict(new UTF8Encoding(false))) is { } utf8) return (utf8, "utf-8");
        if (TryDecode(b, Strict(System.Text.Encoding.GetEncoding(54936))) is { } gb) return (gb, "gb18030");
        throw new MiniGlmException($"{path}: neither UTF-8, UTF-16 (with BOM) nor GB18030 text; give its encoding with --encoding NAME (e.g. big5)");
    }

    private static Encoding Forced(string name)
    {
        try { return Strict(System.Text.Encoding.GetEncoding(name)); }
        catch (ArgumentException) { throw new MiniGlmException($"--encoding {name}: unknown encoding (e.g. utf-8, utf-16, utf-16BE, gb18030, gbk, big5)"); }
    }

    private static Encoding Strict(Encoding e) => System.Text.Encoding.GetEncoding(e.CodePage, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);

    private static string Decode(string path, byte[] bytes, Encoding e, string name) =>
        TryDecode(bytes, e) ?? throw new MiniGlmException($"{path}: not valid {name} text; give its encoding with --encoding NAME");

    private static string? TryDecode(byte[] bytes, Encoding e)
    {
        try { return e.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }
}
