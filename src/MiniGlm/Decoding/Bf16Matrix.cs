using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace MiniGlm.Decoding;

/// bf16 weights: the upper half of each fp32 weight (rounded to nearest even), half the bytes of fp32. A bf16
/// value widens to fp32 by a 16-bit shift, so the product needs no bf16 arithmetic from the CPU.
internal sealed unsafe class Bf16Matrix : WeightMatrix
{
    private readonly ushort[] values; // pinned: the kernel reads it through a pointer
    private readonly byte* data;

    public Bf16Matrix(Tensor weight) : base(weight)
    {
        values = GC.AllocateUninitializedArray<ushort>(Rows * Cols, pinned: true);
        data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(values));
        for (long i = 0; i < values.LongLength; i++) values[i] = Round(Fp32[i]);
        bf16 = weight.detach().to(ScalarType.BFloat16).contiguous();
    }

    /// Long products (a prompt) in libtorch's bf16 matrix multiply, which uses the CPU's bf16 instructions.
    private readonly Tensor bf16;
    protected override Tensor LibtorchWeight => bf16;

    public override void Dispose()
    {
        bf16.Dispose();
        base.Dispose();
    }

    /// fp32 → bf16, rounding to nearest even (as torch's to(bfloat16)); NaN stays NaN.
    public static ushort Round(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    protected override void MultiplyRows(float* x, int n, float* y, int from, int to, int lanes) =>
        MultiplyRows<Format>(data, null, Rows, Cols, x, n, y, from, to, lanes);

    private readonly struct Format : IWeightFormat
    {
        public static int Bytes => sizeof(ushort);

        public static Vector512<float> Load16(byte* row, int col)
        {
            var half = Vector256.Load((ushort*)row + col);
            var wide = Avx512F.IsSupported ? Avx512F.ConvertToVector512UInt32(half) : Vector512.WidenLower(half.ToVector512Unsafe());
            return (wide << 16).AsSingle();
        }

        public static Vector256<float> Load8(byte* row, int col)
        {
            var wide = Avx2.IsSupported ? Avx2.ConvertToVector256Int32((ushort*)row + col).AsUInt32()
                : Vector256.WidenLower(Vector128.Load((ushort*)row + col).ToVector256Unsafe());
            return (wide << 16).AsSingle();
        }

        public static float Load1(byte* row, int col) => BitConverter.UInt32BitsToSingle((uint)((ushort*)row)[col] << 16);
    }
}
