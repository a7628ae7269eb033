using System.Text;

namespace MiniGlm.Interop.Gguf;

/// Writes a GGUF file (version 3, llama.cpp's model format): a header, typed key/value metadata, the tensor
/// directory, then each tensor's data aligned to 32 bytes. Tensor data is produced one tensor at a time while
/// writing, so a model never has to sit in memory twice. Little-endian, as ggml reads it.
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF"
    private const uint Version = 3;
    private const int Alignment = 32;

    // gguf_type values (gguf.h).
    private enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

    private readonly List<(string Key, Action<BinaryWriter> Write)> metadata = [];
    private readonly List<Tensor> tensors = [];

    /// <param name="Shape">PyTorch order (outermost first); GGUF stores the reverse (ggml's ne[0] is the row).</param>
    private sealed record Tensor(string Name, long[] Shape, GgufTensorType Type, Func<float[]> Values)
    {
        public long ByteCount => GgufTensorData.ByteCount(Type, Shape.Aggregate(1L, (a, b) => a * b));
    }

    public void Add(string key, uint value) => Put(key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); });
    public void Add(string key, float value) => Put(key, w => { w.Write((uint)ValueType.Float32); w.Write(value); });
    public void Add(string key, bool value) => Put(key, w => { w.Write((uint)ValueType.Bool); w.Write(value); });
    public void Add(string key, string value) => Put(key, w => { w.Write((uint)ValueType.String); WriteString(w, value); });

    public void Add(string key, IReadOnlyList<string> values) => Put(key, w =>
    {
        WriteArrayHeader(w, ValueType.String, values.Count);
        foreach (var v in values) WriteString(w, v);
    });

    public void Add(string key, IReadOnlyList<int> values) => Put(key, w =>
    {
        WriteArrayHeader(w, ValueType.Int32, values.Count);
        foreach (var v in values) w.Write(v);
    });

    /// A tensor whose fp32 values (row-major in the PyTorch shape given) are asked for when it is written.
    public void AddTensor(string name, long[] shape, GgufTensorType type, Func<float[]> values)
    {
        if (type == GgufTensorType.Q8_0 && shape[^1] % GgufTensorData.Q8Block != 0)
            throw new ArgumentException($"{name}: Q8_0 needs rows of a multiple of {GgufTensorData.Q8Block} values, not {shape[^1]}");
        tensors.Add(new Tensor(name, shape, type, values));
    }

    public void Write(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, write) in metadata)
        {
            WriteString(w, key);
            write(w);
        }
        long offset = 0;
        foreach (var t in tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape.Reverse()) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = Align(offset + t.ByteCount);
        }
        Pad(w);
        foreach (var t in tensors)
        {
            var values = t.Values();
            if (values.LongLength != t.Shape.Aggregate(1L, (a, b) => a * b))
                throw new InvalidOperationException($"{t.Name}: {values.LongLength} values for shape [{string.Join(",", t.Shape)}]");
            w.Write(GgufTensorData.Encode(t.Type, values));
            Pad(w);
        }
    }

    private void Put(string key, Action<BinaryWriter> write)
    {
        if (metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata key {key} written twice");
        metadata.Add((key, write));
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteArrayHeader(BinaryWriter w, ValueType elementType, int count)
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)elementType);
        w.Write((ulong)count);
    }

    private static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w)
    {
        w.Flush();
        long pos = w.BaseStream.Position;
        for (long i = pos; i < Align(pos); i++) w.Write((byte)0);
    }
}
