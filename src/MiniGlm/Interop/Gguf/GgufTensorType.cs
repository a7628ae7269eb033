namespace MiniGlm.Interop.Gguf;

/// The ggml tensor types we write, with ggml's numbering (ggml.h `enum ggml_type`).
public enum GgufTensorType : uint
{
    F32 = 0,
    F16 = 1,
    /// Blocks of 32 values: one f16 scale (max |x| / 127), then 32 int8 values (ggml's `block_q8_0`, 34 bytes).
    Q8_0 = 8,
}

/// How values of each type are laid out in bytes.
public static class GgufTensorData
{
    public const int Q8Block = 32;
    private const int Q8BlockBytes = 2 + Q8Block;

    public static long ByteCount(GgufTensorType type, long values) => type switch
    {
        GgufTensorType.F32 => values * 4,
        GgufTensorType.F16 => values * 2,
        GgufTensorType.Q8_0 => values / Q8Block * Q8BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// Encodes fp32 values (rows of the innermost dimension, whose length Q8_0 needs to be a multiple of 32).
    public static byte[] Encode(GgufTensorType type, ReadOnlySpan<float> values)
    {
        var bytes = new byte[ByteCount(type, values.Length)];
        switch (type)
        {
            case GgufTensorType.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);
                break;
            case GgufTensorType.F16:
                for (int i = 0; i < values.Length; i++)
                    BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (Half)values[i]);
                break;
            case GgufTensorType.Q8_0:
                for (int b = 0; b < values.Length / Q8Block; b++)
                    QuantizeQ8(values.Slice(b * Q8Block, Q8Block), bytes.AsSpan(b * Q8BlockBytes, Q8BlockBytes));
                break;
        }
        return bytes;
    }

    /// ggml's reference quantize_row_q8_0: d = amax / 127 stored as f16, q = round(x / d) with the fp32 d.
    private static void QuantizeQ8(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        foreach (var v in x) amax = Math.Max(amax, Math.Abs(v));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        BitConverter.TryWriteBytes(block, (Half)d);
        for (int j = 0; j < Q8Block; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
    }
}
