using System.Buffers.Binary;

namespace MiniGlm.Data;

/// Appends token ids to a stream in the .bin layout: little-endian uint16, no header.
public sealed class TokenFileWriter : IDisposable
{
    /// The format stores uint16, so ids must be below this (GPT-2's 50257 fit).
    public const int MaxVocabSize = 65536;

    private readonly Stream stream;
    private readonly string name;
    private readonly bool leaveOpen;
    private readonly byte[] buffer = new byte[64 * 1024];
    private int used;

    /// Number of tokens appended so far.
    public long Count { get; private set; }

    /// <param name="name">the file name to put in error messages.</param>
    public TokenFileWriter(Stream stream, string name, bool leaveOpen = false)
    {
        this.stream = stream; this.name = name; this.leaveOpen = leaveOpen;
    }

    public static TokenFileWriter Create(string path, string? displayName = null) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1), displayName ?? path);

    public void Append(int id)
    {
        if ((uint)id >= MaxVocabSize)
            throw new MiniGlmException($"{name}: token id {id} does not fit in a uint16 token file (ids must be 0..{MaxVocabSize - 1})");
        if (used == buffer.Length) FlushBuffer();
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(used), (ushort)id);
        used += 2;
        Count++;
    }

    public void Append(IEnumerable<int> ids)
    {
        foreach (var id in ids) Append(id);
    }

    private void FlushBuffer()
    {
        stream.Write(buffer, 0, used);
        used = 0;
    }

    /// Writes buffered ids and flushes the stream to disk.
    public void Flush()
    {
        FlushBuffer();
        if (stream is FileStream fs) fs.Flush(flushToDisk: true); else stream.Flush();
    }

    public void Dispose()
    {
        try { FlushBuffer(); }
        finally { if (!leaveOpen) stream.Dispose(); }
    }
}
