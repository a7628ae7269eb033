using System.Text;

namespace MiniGlm.Interop.HuggingFace;

/// GPT-2's byte-to-character table (`bytes_to_unicode` in its encoder.py, the ByteLevel of HF tokenizers): every
/// byte is shown as one printable character, so a byte-level token is a string in vocab.json and tokenizer.json.
public static class ByteLevelAlphabet
{
    private static readonly char[] ToChar = Build();
    private static readonly Dictionary<char, byte> ToByte = Enumerable.Range(0, 256).ToDictionary(b => ToChar[b], b => (byte)b);

    private static char[] Build()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder(bytes.Length);
        foreach (var b in bytes) s.Append(ToChar[b]);
        return s.ToString();
    }

    /// The bytes of a byte-level token string, or null if it has a character outside the table.
    public static byte[]? Decode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!ToByte.TryGetValue(token[i], out var b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }
}
