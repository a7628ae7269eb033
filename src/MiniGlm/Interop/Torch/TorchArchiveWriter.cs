using System.IO.Compression;
using System.Text;
using MiniGlm.IO;
using MiniGlm.Interop.Pickle;
using static TorchSharp.torch;

namespace MiniGlm.Interop.Torch;

/// Writes what `torch.save` writes (the zip format torch.load reads since PyTorch 1.6): `archive/data.pkl` with every
/// tensor as `torch._utils._rebuild_tensor_v2` over a persistent storage id, the storages as stored (uncompressed)
/// entries `archive/data/<n>`, and `archive/version`. Values: what <see cref="PickleWriter"/> writes, plus tensors.
public static class TorchArchiveWriter
{
    private const string Prefix = "archive/";

    /// Writes to a temporary file beside path, then renames it into place.
    public static void Write(string path, object? root) => AtomicFile.Write(path, tmp =>
    {
        var storages = new List<Tensor>();
        var pickle = PickleWriter.Write(Convert(root, storages, new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance)));
        using var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write);
        using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            Entry(zip, "data.pkl", pickle);
            for (int i = 0; i < storages.Count; i++)
            {
                var entry = zip.CreateEntry($"{Prefix}data/{i}", CompressionLevel.NoCompression);
                using var s = entry.Open();
                s.Write(storages[i].bytes);
            }
            Entry(zip, "version", Encoding.ASCII.GetBytes("3\n"));
            Entry(zip, "byteorder", Encoding.ASCII.GetBytes("little"));
        }
        foreach (var t in storages) t.Dispose();
    });

    private static void Entry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(Prefix + name, CompressionLevel.NoCompression);
        using var s = entry.Open();
        s.Write(bytes);
    }

    /// Replaces each tensor by its pickled form, collecting its (contiguous CPU) storage. The same tensor object
    /// twice (a tied weight under two names) is one storage, as torch.save writes it.
    private static object? Convert(object? value, List<Tensor> storages, Dictionary<Tensor, int> seen)
    {
        switch (value)
        {
            case Tensor t:
                if (!seen.TryGetValue(t, out int key))
                {
                    seen[t] = key = storages.Count;
                    storages.Add(t.detach().cpu().contiguous());
                }
                var data = storages[key];
                var storage = new PickleWriter.PersistentId(["storage",
                    new PickleWriter.GlobalRef("torch", TorchArchive.StorageName(data.dtype)),
                    key.ToString(), "cpu", data.numel()]);
                var shape = data.shape.Select(d => (object?)d).ToArray();
                var stride = data.stride().Select(d => (object?)d).ToArray();
                return new PickleWriter.Call("torch._utils", "_rebuild_tensor_v2",
                    [storage, 0L, shape, stride, false, new PickleWriter.Call("collections", "OrderedDict", [])]);
            case System.Collections.IDictionary dict:
                var converted = new Dictionary<object, object?>();
                foreach (System.Collections.DictionaryEntry e in dict) converted[e.Key] = Convert(e.Value, storages, seen);
                return converted;
            case string or null: return value;
            case object?[] tuple: return tuple.Select(v => Convert(v, storages, seen)).ToArray();
            case System.Collections.IList list: return list.Cast<object?>().Select(v => Convert(v, storages, seen)).ToList();
            default: return value;
        }
    }
}
