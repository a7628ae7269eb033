using System.Text;
using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// Turns a stream of token ids into text pieces without ever showing half a character: a Chinese character is
/// often several byte-level tokens, so its bytes wait in a stateful UTF-8 decoder until the character is
/// complete. Only bytes that can never complete (invalid UTF-8 from a weak model) become U+FFFD; nothing is
/// dropped, and Flush emits what is left. End-of-text ids produce no text.
public sealed class StreamingDecoder(TextTokenizer tokenizer)
{
    private readonly Decoder utf8 = new UTF8Encoding(false, false).GetDecoder();
    private readonly char[] chars = new char[64];

    public string Push(int id) => id == tokenizer.EotId ? "" : Decode(tokenizer.TokenBytes(id), flush: false);

    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        var text = new StringBuilder();
        bool completed = false;
        while (!completed || bytes.Length > 0)
        {
            utf8.Convert(bytes, chars, flush, out int used, out int written, out completed);
            text.Append(chars, 0, written);
            bytes = bytes[used..];
        }
        return text.ToString();
    }
}
