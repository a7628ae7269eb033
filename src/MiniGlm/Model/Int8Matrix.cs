using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// A weight matrix [out, in] quantized to int8 with one fp32 scale per output row (absmax / 127), multiplied by
/// fp32 activations: y = scale ⊙ (W_q · x). Decoding one token reads every weight once, so on CPU its speed is the
/// memory bandwidth over the weight bytes; int8 reads a quarter of fp32's. libtorch has no int8 × fp32 product
/// for CPU in TorchSharp and its bf16 one is slow without AVX512-BF16, hence this small AVX2 kernel. The
/// activations stay fp32 and are accumulated in fp32, so the only error is the weights' rounding (≤ scale / 2).
internal sealed unsafe class Int8Matrix : IDisposable
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    private const int Lanes = 16; // columns per loop step: two 8-float AVX registers
    private sbyte* q;
    private readonly float[] scales;
    public int Rows { get; }
    public int Cols { get; }

    public Int8Matrix(Tensor weight)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("int8 decoding needs AVX2 and FMA");
        Rows = (int)weight.shape[0];
        Cols = (int)weight.shape[1];
        using var w = weight.detach().to(ScalarType.Float32).contiguous();
        float* values = DataPointer(w);
        scales = new float[Rows];
        q = (sbyte*)NativeMemory.AlignedAlloc((nuint)((long)Rows * Cols), 64);
        for (int r = 0; r < Rows; r++)
        {
            var source = new ReadOnlySpan<float>(values + (long)r * Cols, Cols);
            float max = 0;
            foreach (var v in source) max = Math.Max(max, Math.Abs(v));
            scales[r] = max / 127f;
            float inverse = max > 0 ? 127f / max : 0f;
            sbyte* row = q + (long)r * Cols;
            for (int c = 0; c < Cols; c++) row[c] = (sbyte)MathF.Round(source[c] * inverse);
        }
    }

    /// x: (..., Cols) fp32 → (..., Rows) fp32. The leading dimensions (a handful of rows: the samples of one
    /// decode step) share each pass over the weights.
    public Tensor Multiply(Tensor x)
    {
        using var flat = x.contiguous().view(-1, Cols);
        int n = (int)flat.shape[0];
        var y = empty(new long[] { n, Rows }, ScalarType.Float32);
        float* px = DataPointer(flat), py = DataPointer(y);
        int parts = Math.Clamp(get_num_threads(), 1, Math.Max(1, Rows / 256));
        if (parts == 1) MultiplyRows(px, py, n, 0, Rows);
        else Parallel.For(0, parts, p => MultiplyRows(px, py, n, (int)((long)Rows * p / parts), (int)((long)Rows * (p + 1) / parts)));
        var shape = x.shape.ToArray();
        shape[^1] = Rows;
        return y.view(shape);
    }

    private static float* DataPointer(Tensor contiguous)
    {
        using var storage = contiguous.storage<float>();
        return (float*)storage.data_ptr() + contiguous.storage_offset();
    }

    private void MultiplyRows(float* x, float* y, int n, int from, int to)
    {
        int vectorCols = Cols - Cols % Lanes;
        for (int r = from; r < to; r++)
        {
            sbyte* row = q + (long)r * Cols;
            for (int b = 0; b < n; b++)
            {
                float* xb = x + (long)b * Cols;
                var acc0 = Vector256<float>.Zero;
                var acc1 = Vector256<float>.Zero;
                for (int c = 0; c < vectorCols; c += Lanes)
                {
                    var w0 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + c));
                    var w1 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + c + 8));
                    acc0 = Fma.MultiplyAdd(w0, Avx.LoadVector256(xb + c), acc0);
                    acc1 = Fma.MultiplyAdd(w1, Avx.LoadVector256(xb + c + 8), acc1);
                }
                float sum = Vector256.Sum(Avx.Add(acc0, acc1));
                for (int c = vectorCols; c < Cols; c++) sum += row[c] * xb[c];
                y[(long)b * Rows + r] = sum * scales[r];
            }
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~Int8Matrix() => Free();

    private void Free()
    {
        NativeMemory.AlignedFree(q);
        q = null;
    }
}
