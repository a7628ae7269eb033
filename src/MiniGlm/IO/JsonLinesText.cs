using System.Text;

namespace MiniGlm.IO;

/// The text of a JSON Lines input file: strict UTF-8 (an invalid byte is an error naming the file), BOM dropped.
public static class JsonLinesText
{
    /// <param name="what">What the file is, for the errors: "SFT input", "QA file"…</param>
    public static (byte[] Bytes, string Text) Read(string path, string what)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: {what} not found");
        var bytes = File.ReadAllBytes(path);
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new MiniGlmException($"{path}: not valid UTF-8; {what} must be UTF-8 JSON Lines"); }
        return (bytes, text.StartsWith('\uFEFF') ? text[1..] : text);
    }
}
