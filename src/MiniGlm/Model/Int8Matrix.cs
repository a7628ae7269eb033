using System.Runtime.CompilerServices;
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
        float* values = TensorMemory.Floats(w);
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

    /// y = scale ⊙ (W_q · x) for the n rows of x (n × Cols) into y (n × Rows). The rows (the samples of one decode
    /// step) share each pass over the weights; large matrices are split across the cores by output row.
    public void Multiply(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length / Cols;
        if (x.Length != n * Cols || y.Length != n * Rows)
            throw new ArgumentException($"int8 matrix {Rows}×{Cols}: input of {x.Length} and output of {y.Length} values do not match");
        int parts = Math.Clamp(get_num_threads(), 1, Math.Max(1, Rows / 256));
        fixed (float* px = x, py = y)
        {
            float* input = px, output = py; // fixed locals cannot be captured; the pin lasts until Parallel.For returns
            if (parts == 1) MultiplyRows(input, output, n, 0, Rows);
            else Parallel.For(0, parts, p => MultiplyRows(input, output, n, (int)((long)Rows * p / parts), (int)((long)Rows * (p + 1) / parts)));
        }
    }

    // Fully optimised from the first call: tier-0 code for this loop is several times slower, and a short
    // generation would finish before tiering replaced it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MultiplyRows(float* x, float* y, int n, int from, int to)
    {
        for (int r = from; r < to; r++)
        {
            sbyte* row = q + (long)r * Cols;
            int b = 0;
            for (; b + 4 <= n; b += 4) DotFour(row, x + (long)b * Cols, y + (long)b * Rows + r, scales[r]);
            for (; b < n; b++) y[(long)b * Rows + r] = Dot(row, x + (long)b * Cols) * scales[r];
        }
    }

    private float Dot(sbyte* row, float* x)
    {
        int vectorCols = Cols - Cols % Lanes;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int c = 0; c < vectorCols; c += Lanes)
        {
            var w0 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + c));
            var w1 = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + c + 8));
            acc0 = Fma.MultiplyAdd(w0, Avx.LoadVector256(x + c), acc0);
            acc1 = Fma.MultiplyAdd(w1, Avx.LoadVector256(x + c + 8), acc1);
        }
        float sum = Vector256.Sum(Avx.Add(acc0, acc1));
        for (int c = vectorCols; c < Cols; c++) sum += row[c] * x[c];
        return sum;
    }

    /// Four samples against one weight row: each 8 weights are widened to floats once, not once per sample.
    private void DotFour(sbyte* row, float* x, float* y, float scale)
    {
        int vectorCols = Cols - Cols % 8;
        var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
        for (int c = 0; c < vectorCols; c += 8)
        {
            var w = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + c));
            a0 = Fma.MultiplyAdd(w, Avx.LoadVector256(x + c), a0);
            a1 = Fma.MultiplyAdd(w, Avx.LoadVector256(x + Cols + c), a1);
            a2 = Fma.MultiplyAdd(w, Avx.LoadVector256(x + 2 * Cols + c), a2);
            a3 = Fma.MultiplyAdd(w, Avx.LoadVector256(x + 3 * Cols + c), a3);
        }
        Span<float> sums = [Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3)];
        for (int k = 0; k < 4; k++)
        {
            for (int c = vectorCols; c < Cols; c++) sums[k] += row[c] * x[k * Cols + c];
            y[(long)k * Rows] = sums[k] * scale;
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
