using System.Buffers;
using System.Security.Cryptography;
using System.Text.Unicode;

namespace MiniGlm.Data;

/// Streams a UTF-8 file as text one block at a time, so a corpus is never held whole. It validates as it goes
/// (reporting the byte offset of the first invalid sequence, or substituting U+FFFD), drops a leading BOM and
/// turns CRLF and lone CR into LF, also when the CR and LF land in different blocks.
internal sealed class Utf8TextReader : IDisposable
{
    public const int DefaultBlockBytes = 1 << 20;

    private readonly Stream stream;
    private readonly string path;
    private readonly bool replaceInvalid;
    private readonly IncrementalHash? hash;
    private readonly byte[] bytes;   // an incomplete sequence from the previous block is kept at the front
    private readonly char[] chars;
    private readonly int blockBytes;
    private int carry;               // bytes kept from the previous block
    private long offset;             // file offset of bytes[0]
    private bool done, atStart = true, afterCr;

    /// Bytes read from the file so far.
    public long BytesRead { get; private set; }

    /// <param name="hash">if given, receives every raw byte of the file (BOM and CRs included).</param>
    public Utf8TextReader(string path, bool replaceInvalid, IncrementalHash? hash = null, int blockBytes = DefaultBlockBytes)
    {
        this.path = path; this.replaceInvalid = replaceInvalid; this.hash = hash; this.blockBytes = blockBytes;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MiniGlmException($"{path}: cannot read ({e.Message})", e);
        }
        // Room for a block plus up to 3 carried bytes; UTF-8 never decodes to more UTF-16 units than bytes.
        bytes = new byte[blockBytes + 4];
        chars = new char[bytes.Length];
    }

    /// The next block of normalised text; empty only at the end of the file. Valid until the next call.
    public ReadOnlySpan<char> Read()
    {
        while (!done)
        {
            int n = stream.Read(bytes, carry, blockBytes);
            hash?.AppendData(bytes, carry, n);
            BytesRead += n;
            bool final = n == 0;
            int len = carry + n;
            // With isFinalBlock false, a sequence cut by the block end is NeedMoreData, not invalid: carry it over.
            var status = Utf8.ToUtf16(bytes.AsSpan(0, len), chars, out int read, out int written, replaceInvalid, final);
            if (status == OperationStatus.InvalidData)
                throw new MiniGlmException($"{path}: invalid UTF-8 at byte offset {offset + read} (use --replace_invalid to substitute U+FFFD)");
            offset += read;
            carry = len - read;
            bytes.AsSpan(read, carry).CopyTo(bytes);
            done = final;
            int kept = Normalise(chars.AsSpan(0, written));
            if (kept > 0) return chars.AsSpan(0, kept);
        }
        return default;
    }

    // Drops a BOM at the start of the file, turns CR into LF and drops the LF of a CRLF; in place.
    private int Normalise(Span<char> s)
    {
        if (s.IsEmpty) return 0;
        if (!atStart && !afterCr && !s.Contains('\r')) return s.Length;
        int w = 0;
        foreach (char c in s)
        {
            if (atStart)
            {
                atStart = false;
                if (c == '\uFEFF') continue;
            }
            if (c == '\n' && afterCr) { afterCr = false; continue; }
            afterCr = c == '\r';
            s[w++] = afterCr ? '\n' : c;
        }
        return w;
    }

    /// Unicode characters (code points) in s: UTF-16 units less the low halves of surrogate pairs.
    public static long CountChars(ReadOnlySpan<char> s)
    {
        int i = s.IndexOfAnyInRange('\uDC00', '\uDFFF');
        if (i < 0) return s.Length;
        long n = i;
        for (; i < s.Length; i++) if (!char.IsLowSurrogate(s[i])) n++;
        return n;
    }

    public void Dispose() => stream.Dispose();
}
