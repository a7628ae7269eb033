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

    /// Activations are rounded to int16 per row of x (absmax / 16383: a relative step of 6e-5, far below the
    /// weights' 1/254) so that the products run in integers: one instruction multiplies and pairs 32 weights with
    /// 32 activations (vpmaddwd), where widening each weight to fp32 took two and the FMAs two more. Sums are
    /// exact, so every vector width gives the same result. 16383 keeps each int32 lane from overflowing up to
    /// <see cref="MaxIntegerCols"/> columns; wider rows take the fp32 kernel.
    protected override void Prepare(float* x, int n)
    {
        if (Cols > MaxIntegerCols) return;
        if (quantized.Length < n * Cols) quantized = new short[n * Cols];
        if (steps.Length < n) steps = new float[n];
        for (int b = 0; b < n; b++)
        {
            var row = new ReadOnlySpan<float>(x + (long)b * Cols, Cols);
            float max = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row));
            steps[b] = max / XLevels;
            float inverse = max > 0 ? XLevels / max : 0f;
            for (int c = 0; c < Cols; c++) quantized[b * Cols + c] = (short)MathF.Round(row[c] * inverse);
        }
    }

    protected override void MultiplyRows(float* x, int n, float* y, int from, int to, int lanes)
    {
        if (Cols > MaxIntegerCols)
        {
            MultiplyRows<Format>(data, scale, Rows, Cols, x, n, y, from, to, lanes);
            return;
        }
        fixed (short* xq = quantized)
            for (int r = from; r < to; r++)
            {
                sbyte* w = (sbyte*)data + (long)r * Cols;
                int b = 0;
                for (; b + 4 <= n; b += 4)
                {
                    var (s0, s1, s2, s3) = Four(w, xq + b * Cols, Cols, lanes);
                    y[(long)b * Rows + r] = s0 * scale[r] * steps[b];
                    y[(long)(b + 1) * Rows + r] = s1 * scale[r] * steps[b + 1];
                    y[(long)(b + 2) * Rows + r] = s2 * scale[r] * steps[b + 2];
                    y[(long)(b + 3) * Rows + r] = s3 * scale[r] * steps[b + 3];
                }
                for (; b < n; b++) y[(long)b * Rows + r] = One(w, xq + b * Cols, Cols, lanes) * scale[r] * steps[b];
            }
    }

    private const float XLevels = 16383f;
    public const int MaxIntegerCols = 8192; // AVX2: 8192/16 pairs per lane, × 2 × 127 × 16383 < 2³¹
    // x rounded to int16 by Prepare, and each row's step: read by every part of the product.
    private short[] quantized = [];
    private float[] steps = [];

    // Each lane fits an int32; all of them together may not.
    private static long Total(Vector512<int> v) => Vector512.Sum(Vector512.WidenLower(v)) + Vector512.Sum(Vector512.WidenUpper(v));
    private static long Total(Vector256<int> v) => Vector256.Sum(Vector256.WidenLower(v)) + Vector256.Sum(Vector256.WidenUpper(v));

    /// Σ w·x over one weight row and one row of int16 x.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long One(sbyte* w, short* x, int cols, int lanes)
    {
        int c = 0;
        long sum = 0;
        if (lanes == 16 && Avx512BW.IsSupported)
        {
            Vector512<int> a0 = default, a1 = default;
            for (; c + 64 <= cols; c += 64)
            {
                Prefetch(w + c + 8 * cols); // eight rows on, as the fp32 kernel (one KB on: head for four rows 1.45 → 1.15 ms)
                a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + c)), Vector512.Load(x + c));
                a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + c + 32)), Vector512.Load(x + c + 32));
            }
            sum = Total(a0 + a1);
        }
        else if (lanes >= 8 && Avx2.IsSupported)
        {
            Vector256<int> a0 = default, a1 = default;
            for (; c + 32 <= cols; c += 32)
            {
                a0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.Load(w + c)), Vector256.Load(x + c));
                a1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.Load(w + c + 16)), Vector256.Load(x + c + 16));
            }
            sum = Total(a0 + a1);
        }
        for (; c < cols; c++) sum += w[c] * x[c];
        return sum;
    }

    /// Σ w·x over one weight row for four rows of int16 x (cols apart): the weights are widened once for all four.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (long, long, long, long) Four(sbyte* w, short* x, int cols, int lanes)
    {
        int c = 0;
        long s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (lanes == 16 && Avx512BW.IsSupported)
        {
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c + 32 <= cols; c += 32)
            {
                Prefetch(w + c + 8 * cols);
                var v = Avx512BW.ConvertToVector512Int16(Vector256.Load(w + c));
                a0 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Load(x + c));
                a1 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Load(x + cols + c));
                a2 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Load(x + 2 * cols + c));
                a3 += Avx512BW.MultiplyAddAdjacent(v, Vector512.Load(x + 3 * cols + c));
            }
            (s0, s1, s2, s3) = (Total(a0), Total(a1), Total(a2), Total(a3));
        }
        else if (lanes >= 8 && Avx2.IsSupported)
        {
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c + 16 <= cols; c += 16)
            {
                var v = Avx2.ConvertToVector256Int16(Vector128.Load(w + c));
                a0 += Avx2.MultiplyAddAdjacent(v, Vector256.Load(x + c));
                a1 += Avx2.MultiplyAddAdjacent(v, Vector256.Load(x + cols + c));
                a2 += Avx2.MultiplyAddAdjacent(v, Vector256.Load(x + 2 * cols + c));
                a3 += Avx2.MultiplyAddAdjacent(v, Vector256.Load(x + 3 * cols + c));
            }
            (s0, s1, s2, s3) = (Total(a0), Total(a1), Total(a2), Total(a3));
        }
        for (; c < cols; c++)
        {
            s0 += w[c] * x[c]; s1 += w[c] * x[cols + c]; s2 += w[c] * x[2 * cols + c]; s3 += w[c] * x[3 * cols + c];
        }
        return (s0, s1, s2, s3);
    }

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
