using System.Buffers.Binary;
using System.Text.Json;
using MiniGlm.IO;
using MiniGlm.Model;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MiniGlm.Checkpoints;

/// Reads and writes a model's weights as safetensors with nanoGPT's tensor names (HuggingFace style: the tied
/// `lm_head.weight` is not stored, and is ignored when a PyTorch export carries it).
public static class ModelWeights
{
    public static void Save(LanguageModel model, string path)
    {
        var state = model.state_dict();
        AtomicFile.Write(path, tmp => Safetensors.SaveStateDict(tmp, state));
    }

    public static void Load(LanguageModel model, string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: weights file not found");
        CheckHeader(path);
        Dictionary<string, Tensor> loaded;
        try { loaded = Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not MiniGlmException)
        {
            throw new MiniGlmException($"{path}: not a readable safetensors file (truncated or corrupt?): {e.Message}", e);
        }
        try { Load(model, loaded, path); }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    private static readonly Dictionary<string, int> DtypeBytes = new()
    {
        ["F64"] = 8, ["I64"] = 8, ["U64"] = 8, ["F32"] = 4, ["I32"] = 4, ["U32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I16"] = 2,
        ["U16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
    };

    /// The loader allocates what the header declares, so a crafted header could ask for far more memory than the
    /// file holds: check first that the header fits the file and that every tensor's shape is exactly its byte range
    /// inside the file.
    private static void CheckHeader(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        if (file.Length < 8 || file.Read(prefix) < 8) throw new MiniGlmException($"{path}: not a safetensors file (shorter than its 8-byte header size)");
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerSize > (ulong)(file.Length - 8) || headerSize > 100_000_000)
            throw new MiniGlmException($"{path}: safetensors header of {headerSize} bytes does not fit the {file.Length}-byte file (truncated or corrupt?)");
        var header = new byte[headerSize];
        file.ReadExactly(header);
        long data = file.Length - 8 - (long)headerSize;
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (var t in doc.RootElement.EnumerateObject().Where(t => t.Name != "__metadata__"))
            {
                long elements = 1;
                foreach (var d in t.Value.GetProperty("shape").EnumerateArray())
                    elements = checked(elements * (d.GetInt64() >= 0 ? d.GetInt64() : throw new FormatException("negative dimension")));
                var offsets = t.Value.GetProperty("data_offsets");
                long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
                int size = DtypeBytes.TryGetValue(t.Value.GetProperty("dtype").GetString() ?? "", out var b) ? b : throw new FormatException("unknown dtype");
                if (begin < 0 || end < begin || end > data || checked(elements * size) != end - begin)
                    throw new MiniGlmException($"{path}: tensor '{t.Name}' declares {elements} elements in bytes {begin}…{end}, but the file holds {data} bytes of data (corrupt header?)");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or OverflowException or IndexOutOfRangeException)
        {
            throw new MiniGlmException($"{path}: unreadable safetensors header ({e.Message})", e);
        }
    }

    /// Copies named tensors into the model, after checking that every tensor the model has is there with its shape
    /// and nothing else is (the tied `lm_head.weight` and the causal-mask buffers `*.attn.bias` are ignored).
    public static void Load(LanguageModel model, IReadOnlyDictionary<string, Tensor> loaded, string source)
    {
        var expected = model.state_dict();
        foreach (var (name, t) in expected)
        {
            if (!loaded.TryGetValue(name, out var src))
                throw new MiniGlmException($"{source}: tensor '{name}' is missing");
            if (!src.shape.SequenceEqual(t.shape))
                throw new MiniGlmException($"{source}: tensor '{name}' has shape [{string.Join(",", src.shape)}], the model expects [{string.Join(",", t.shape)}]");
        }
        var extra = loaded.Keys.Where(k => !expected.ContainsKey(k) && k != "lm_head.weight" && !k.EndsWith(".attn.bias")).ToList();
        if (extra.Count > 0) throw new MiniGlmException($"{source}: unexpected tensor '{extra[0]}' (model config does not match the weights)");
        using var _ = no_grad();
        foreach (var (name, t) in expected) t.copy_(loaded[name].to(t.dtype));
    }
}
