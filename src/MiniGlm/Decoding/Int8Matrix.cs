using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace MiniGlm.Decoding;

/// int8 weights with one fp32 scale per output row (absmax / 127): y = scale ⊙ (W_q · x), a quarter of fp32's
/// bytes. Each weight is off by at most half its row's step.
internal sealed unsafe class Int8Matrix : WeightMatrix
{
    private readonly sbyte[] values; // pinned: the kernel reads them through pointers
    private readonly float[] scales;
    private readonly byte* data;
    private readonly float* scale;

    public Int8Matrix(Tensor weight) : base(weight)
    {
        values = GC.AllocateUninitializedArray<sbyte>(Rows * Cols, pinned: true);
        scales = GC.AllocateUninitializedArray<float>(Rows, pinned: true);
        data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(values));
        scale = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(scales));
        for (int r = 0; r < Rows; r++)
        {
            var row = new ReadOnlySpan<float>(Fp32 + (long)r * Cols, Cols);
            float max = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row);
            max = Math.Abs(max);
            scales[r] = max / 127f;
            float inverse = max > 0 ? 127f / max : 0f;
            for (int c = 0; c < Cols; c++) values[(long)r * Cols + c] = (sbyte)MathF.Round(row[c] * inverse);
        }
    }

    protected override void MultiplyRows(float* x, int n, float* y, int from, int to, int lanes) =>
        MultiplyRows<Format>(data, scale, Rows, Cols, x, n, y, from, to, lanes);

    private readonly struct Format : IWeightFormat
    {
        public static int Bytes => sizeof(sbyte);

        public static Vector512<float> Load16(byte* row, int col)
        {
            var bytes = Vector128.Load((sbyte*)row + col);
            var ints = Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(bytes)
                : Vector512.WidenLower(Vector256.WidenLower(bytes.ToVector256Unsafe()).ToVector512Unsafe());
            return Vector512.ConvertToSingle(ints);
        }

        public static Vector256<float> Load8(byte* row, int col)
        {
            var ints = Avx2.IsSupported ? Avx2.ConvertToVector256Int32((sbyte*)row + col)
                : Vector256.WidenLower(Vector128.WidenLower(Vector64.Load((sbyte*)row + col).ToVector128Unsafe()).ToVector256Unsafe());
            return Vector256.ConvertToSingle(ints);
        }

        public static float Load1(byte* row, int col) => ((sbyte*)row)[col];
    }
}
