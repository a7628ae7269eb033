using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using MiniGlm.IO;

namespace MiniGlm.Data;

/// A read-only view of a nanoGPT token file (train.bin / val.bin): raw little-endian uint16 ids, no header.
/// Memory-mapped like nanoGPT's np.memmap, so a multi-GB dataset costs page cache, not heap.
public sealed unsafe class TokenFile : IDisposable
{
    public string Path { get; }
    /// Number of tokens in the file.
    public long Length { get; }

    private readonly MemoryMappedFile? map;
    private readonly MemoryMappedViewAccessor? view;
    private ushort* tokens;

    private TokenFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, ushort* tokens)
    {
        Path = path; Length = length; this.map = map; this.view = view; this.tokens = tokens;
    }

    public static TokenFile Open(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: token file not found");
        long bytes = new FileInfo(path).Length;
        if (bytes % 2 != 0)
            throw new MiniGlmException($"{path}: {bytes} bytes is not a whole number of uint16 tokens (truncated?); re-run prepare");
        // An empty file cannot be mapped (capacity 0); an empty val.bin is legal (val_fraction 0).
        if (bytes == 0) return new TokenFile(path, 0, null, null, null);
        var map = MemoryMappedFile.CreateFromFile(
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read),
            mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        return new TokenFile(path, bytes / 2, map, view, (ushort*)(p + view.PointerOffset));
    }

    public ushort this[long i]
    {
        get
        {
            if ((ulong)i >= (ulong)Length) throw new ArgumentOutOfRangeException(nameof(i), $"token {i} is outside {Path} ({Length} tokens)");
            return Load(Pointer()[i]);
        }
    }

    /// Copies tokens [start, start + dest.Length) into dest, widened to int64 as torch's embedding wants.
    public void Read(long start, Span<long> dest)
    {
        var src = Slice(start, dest.Length);
        for (int i = 0; i < src.Length; i++) dest[i] = Load(src[i]);
    }

    /// Copies tokens [start, start + dest.Length) into dest as stored.
    public void Read(long start, Span<ushort> dest)
    {
        var src = Slice(start, dest.Length);
        if (BitConverter.IsLittleEndian) src.CopyTo(dest);
        else for (int i = 0; i < src.Length; i++) dest[i] = Load(src[i]);
    }

    private ReadOnlySpan<ushort> Slice(long start, int count)
    {
        if (start < 0 || count < 0 || start > Length - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"tokens [{start}, {start + count}) are outside {Path} ({Length} tokens)");
        return count == 0 ? default : new ReadOnlySpan<ushort>(Pointer() + start, count);
    }

    private ushort* Pointer()
    {
        ObjectDisposedException.ThrowIf(tokens == null && Length > 0, this);
        return tokens;
    }

    private static ushort Load(ushort raw) => BitConverter.IsLittleEndian ? raw : BinaryPrimitives.ReverseEndianness(raw);

    public void Dispose()
    {
        if (tokens == null) return;
        tokens = null;
        view!.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map!.Dispose();
    }

    /// Writes ids as a token file, atomically (a helper for tests and small tools; prepare streams with TokenFileWriter).
    public static void Write(string path, IEnumerable<int> ids) => AtomicFile.Write(path, tmp =>
    {
        using var w = TokenFileWriter.Create(tmp, displayName: path);
        foreach (var id in ids) w.Append(id);
    });
}
