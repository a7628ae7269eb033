using System.IO.Compression;
using MiniGlm.Interop.Pickle;
using static TorchSharp.torch;

namespace MiniGlm.Interop.Torch;

/// A file written by `torch.save` (PyTorch ≥ 1.6's zip format): `<name>/data.pkl`, the pickled object, whose tensors
/// point by persistent id at raw little-endian storages `<name>/data/<key>`. Read with <see cref="PickleReader"/>,
/// which knows only tensors, storages, OrderedDict and plain values; a tensor stays a <see cref="TensorRef"/> (no
/// bytes read) until <see cref="Load"/> is asked for it, so an optimizer state nobody needs costs nothing.
public sealed class TorchArchive : IDisposable
{
    /// A storage in the archive: its key, element type and length.
    public sealed record StorageRef(string Key, ScalarType Dtype, long Numel);

    /// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
    public sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    /// torch's storage classes (their pickled names) and our element types.
    private static readonly Dictionary<string, ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private readonly ZipArchive zip;
    private readonly string path, prefix;
    public object? Root { get; }

    private TorchArchive(string path, ZipArchive zip)
    {
        this.path = path; this.zip = zip;
        var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl") && e.FullName.Count(c => c == '/') == 1)
            ?? throw new MiniGlmException($"{path}: a zip, but not a torch.save file (no <name>/data.pkl inside)");
        prefix = pickle.FullName[..^"data.pkl".Length];
        var globals = new Dictionary<string, PickleReader.Callable?>
        {
            ["collections.OrderedDict"] = _ => new Dictionary<object, object?>(),
            ["torch._utils._rebuild_tensor_v2"] = RebuildTensor,
            ["torch._utils._rebuild_parameter"] = args => args.Length > 0 ? args[0] : null,
        };
        foreach (var name in StorageTypes.Keys) globals[$"torch.{name}"] = null;
        Root = new PickleReader(path, globals, PersistentLoad).Read(ReadEntry(pickle));
    }

    /// Opens a torch.save file; a file that is not one (the pre-1.6 format, or not PyTorch at all) is a one-line error.
    public static TorchArchive Open(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: file not found");
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException)
        {
            throw new MiniGlmException($"{path}: not a zip-format torch.save file (PyTorch < 1.6's legacy format is not read; " +
                "re-save it with torch.save(torch.load(f), f) in a recent PyTorch)");
        }
        try { return new TorchArchive(path, zip); }
        catch (InvalidDataException e) { zip.Dispose(); throw new MiniGlmException($"{path}: a corrupt zip archive ({e.Message})"); }
        catch { zip.Dispose(); throw; }
    }

    /// The tensor's values as a contiguous CPU tensor of its own (call outside a dispose scope to keep it). The
    /// storage's size, the view's reach and the bytes to read are all checked before anything is allocated, so a
    /// crafted archive costs no more memory than the file's own size.
    public Tensor Load(TensorRef t)
    {
        var s = t.Storage;
        var entry = zip.GetEntry($"{prefix}data/{s.Key}")
            ?? throw new MiniGlmException($"{path}: storage data/{s.Key} is missing from the archive");
        int size = ElementSize(s.Dtype);
        if (s.Numel > long.MaxValue / size || entry.Length != s.Numel * size)
            throw new MiniGlmException($"{path}: storage data/{s.Key} has {entry.Length} bytes, expected {s.Numel} × {size}");
        CheckView(t);
        var bytes = ReadEntry(entry);
        using var storage = empty(s.Numel, s.Dtype);
        if (bytes.Length > 0) storage.bytes = bytes;
        using var view = storage.as_strided(t.Shape, t.Stride, t.Offset);
        return view.contiguous().clone();
    }

    /// A view must lie inside its storage and hold no more elements than it (an expanded, stride-0 view of a small
    /// storage could otherwise ask for any amount of memory).
    private void CheckView(TensorRef t)
    {
        string Where() => $"{path}: a tensor of shape [{string.Join(",", t.Shape)}], strides [{string.Join(",", t.Stride)}] at offset {t.Offset} in data/{t.Storage.Key}";
        if (t.Offset < 0 || t.Shape.Any(d => d < 0) || t.Stride.Any(d => d < 0))
            throw new MiniGlmException($"{Where()}: negative sizes, strides or offset are not read");
        if (t.Shape.Any(d => d == 0)) return;
        try
        {
            long numel = 1, last = t.Offset;
            for (int i = 0; i < t.Shape.Length; i++)
            {
                numel = checked(numel * t.Shape[i]);
                last = checked(last + (t.Shape[i] - 1) * t.Stride[i]);
            }
            if (numel > t.Storage.Numel || last >= t.Storage.Numel)
                throw new MiniGlmException($"{Where()}: reaches past its storage of {t.Storage.Numel} elements");
        }
        catch (OverflowException) { throw new MiniGlmException($"{Where()}: sizes beyond 64-bit arithmetic"); }
    }

    private object? PersistentLoad(object? id)
    {
        if (id is not object?[] { Length: 5 } parts || parts[0] is not "storage" || parts[1] is not PickleReader.Global type
            || parts[2] is not string key || parts[4] is not long numel || numel < 0)
            throw new MiniGlmException($"{path}: a persistent id that is not a torch storage ('storage', type, key, location, size)");
        if (!StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new MiniGlmException($"{path}: storage type {type} is not read");
        return new StorageRef(key, dtype, numel);
    }

    private object? RebuildTensor(object?[] args)
    {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.Length < 4 || args[0] is not StorageRef storage || args[1] is not long offset
            || args[2] is not object?[] size || args[3] is not object?[] stride || size.Length != stride.Length)
            throw new MiniGlmException($"{path}: a tensor whose _rebuild_tensor_v2 arguments are not (storage, offset, size, stride, …)");
        return new TensorRef(storage, offset, size.Select(ToLong).ToArray(), stride.Select(ToLong).ToArray());
    }

    private long ToLong(object? v) => v as long? ?? throw new MiniGlmException($"{path}: a tensor size or stride that is not an integer");

    internal static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// torch's storage class name for an element type (for writing).
    internal static string StorageName(ScalarType t) => StorageTypes.First(kv => kv.Value == t).Key;

    /// An entry's bytes. Its length comes from the zip's directory, which a crafted file may fill with anything:
    /// torch.save stores entries uncompressed, so none can be longer than the file itself.
    private byte[] ReadEntry(ZipArchiveEntry entry)
    {
        long fileSize = new FileInfo(path).Length;
        if (entry.Length > fileSize)
            throw new MiniGlmException($"{path}: {entry.FullName} declares {entry.Length} bytes, more than the {fileSize}-byte file holds " +
                "(corrupt, or compressed: torch.save stores its entries uncompressed)");
        if (entry.Length > Array.MaxLength)
            throw new MiniGlmException($"{path}: {entry.FullName} holds {entry.Length} bytes; a storage over 2 GB is not read");
        try
        {
            using var s = entry.Open();
            var bytes = new byte[entry.Length];
            s.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
        {
            throw new MiniGlmException($"{path}: {entry.FullName} is unreadable (truncated or corrupt archive?): {e.Message}");
        }
    }

    public void Dispose() => zip.Dispose();
}
