using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace MiniGlm.Interop.HuggingFace;

/// Writes safetensors with a `__metadata__` of {"format": "pt"}, which transformers' from_pretrained checks for
/// (our checkpoints' own weights go through ModelWeights; safetensors is read by one reader, ModelWeights').
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        var data = new List<Tensor>();
        foreach (var (name, t) in tensors)
        {
            var c = t.detach().cpu().contiguous();
            data.Add(c);
            long bytes = c.numel() * c.element_size();
            header[name] = new JsonObject
            {
                ["dtype"] = c.dtype switch
                {
                    ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
                    _ => throw new ArgumentException($"{name}: dtype {c.dtype} is not written"),
                },
                ["shape"] = new JsonArray(c.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the data starts 8-byte aligned, padded with spaces as the spec allows
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write(BitConverter.GetBytes((ulong)padded));
        file.Write(json);
        for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
        foreach (var c in data) using (c) file.Write(c.bytes);
    }
}
