using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MiniGlm.Model;
using static TorchSharp.torch;

namespace MiniGlm.Decoding;

/// How one storage format turns its stored weights into fp32 lanes; the kernel below is written once over it.
internal unsafe interface IWeightFormat
{
    static abstract int Bytes { get; }
    static abstract Vector512<float> Load16(byte* row, int col);
    static abstract Vector256<float> Load8(byte* row, int col);
    static abstract float Load1(byte* row, int col);
}

/// A weight matrix [out, in] in a decoder's storage format, multiplied by fp32 activations: y = x · Wᵀ (× a
/// scale per output row for int8). A decode step reads every weight once, so on CPU its time is the weight bytes
/// over the memory bandwidth; the rows of a batch (or a prompt's positions) share each pass over a weight row.
/// In the kernel the activations stay fp32 and are accumulated in fp32, so the only error is the format's rounding
/// of weights; a prompt's long bf16 products (libtorch's, below) also round the activations to bf16.
internal abstract unsafe class WeightMatrix : IDisposable
{
    /// From this many rows of x (a prompt), libtorch's blocked matrix multiply beats streaming the weights: the
    /// weights are reused from cache across rows, so the product is no longer bound by memory. A one-token step
    /// (or a small batch) stays in the kernel below, with no libtorch op per token.
    public const int LibtorchRows = 16;

    public int Rows { get; }
    public int Cols { get; }

    /// The fp32 weight (an alias of the model's when it is fp32): long products go through it, and each format
    /// converts from it. A long bf16/int8 product is therefore exact fp32, as the prefill through the modules was.
    private readonly Tensor floats;
    protected float* Fp32 { get; }

    protected WeightMatrix(Tensor weight)
    {
        (Rows, Cols) = ((int)weight.shape[0], (int)weight.shape[1]);
        floats = Fp32Matrix.Floats(weight, out var first);
        Fp32 = first;
    }

    public static WeightMatrix Create(Tensor weight, InferenceDtype dtype) => dtype switch
    {
        InferenceDtype.BFloat16 => new Bf16Matrix(weight),
        InferenceDtype.Int8 => new Int8Matrix(weight),
        _ => new Fp32Matrix(weight),
    };

    /// The widest vectors this CPU runs natively: 16 lanes (AVX-512), 8 (AVX2) or 1.
    public static int NativeLanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;

    /// y (n × Rows) = x (n × Cols) · Wᵀ. Output rows are split across the cores; from <see cref="LibtorchRows"/>
    /// rows of x, libtorch computes it.
    /// <param name="lanes">The kernel's vector width (16, 8 or 1): tests compare them; 0 = <see cref="NativeLanes"/>, or libtorch.</param>
    public void Multiply(ReadOnlySpan<float> x, Span<float> y, int lanes = 0)
    {
        int n = x.Length / Cols;
        if (x.Length != n * Cols || y.Length != n * Rows)
            throw new ArgumentException($"matrix {Rows}×{Cols}: input of {x.Length} and output of {y.Length} values do not match");
        if (lanes == 0 && n >= LibtorchRows)
        {
            MultiplyByLibtorch(x, y, n);
            return;
        }
        if (lanes == 0) lanes = NativeLanes;
        fixed (float* px = x) Prepare(px, n);
        int parts = Math.Clamp(Math.Min(get_num_threads(), DecodeThreads.Count), 1, Math.Max(1, Rows / 256));
        fixed (float* px = x, py = y)
        {
            float* input = px, output = py; // fixed locals cannot be captured; the pin lasts until DecodeThreads.For returns
            if (parts == 1) MultiplyRows(input, n, output, 0, Rows, lanes);
            else DecodeThreads.For(parts, p => MultiplyRows(input, n, output, (int)((long)Rows * p / parts), (int)((long)Rows * (p + 1) / parts), lanes));
        }
    }

    /// The weight long products use when not the fp32 one (bf16: libtorch's bf16 product, as main's bf16 modules).
    protected virtual Tensor? LibtorchWeight => null;

    private void MultiplyByLibtorch(ReadOnlySpan<float> x, Span<float> y, int n)
    {
        using var scope = NewDisposeScope();
        var input = empty(new long[] { n, Cols }, ScalarType.Float32);
        using (var storage = input.storage<float>()) x.CopyTo(new Span<float>((float*)storage.data_ptr(), x.Length));
        var weight = LibtorchWeight ?? floats;
        var output = nn.functional.linear(input.to(weight.dtype), weight).to(ScalarType.Float32).contiguous();
        using (var storage = output.storage<float>()) new ReadOnlySpan<float>((float*)storage.data_ptr(), y.Length).CopyTo(y);
    }

    /// Work on x that every part of the product shares, done once before the parts run (int8: rounding x to int16).
    /// A matrix computes one product at a time: a decoder is used from one thread.
    protected virtual void Prepare(float* x, int n) { }

    /// Output rows [from, to) of y = x · Wᵀ for the n rows of x.
    protected abstract void MultiplyRows(float* x, int n, float* y, int from, int to, int lanes);

    public virtual void Dispose() => floats.Dispose();

    /// The kernel for a storage format: each weight row is loaded (and widened) once for four rows of x at a time,
    /// and two weight rows share each load of x.
    protected static void MultiplyRows<TF>(byte* weights, float* scales, int rows, int cols, float* x, int n, float* y,
        int from, int to, int lanes) where TF : struct, IWeightFormat
    {
        switch (lanes)
        {
            case 16: Kernel<TF, Lanes16, Vector512<float>>(weights, scales, rows, cols, x, n, y, from, to); break;
            case 8: Kernel<TF, Lanes8, Vector256<float>>(weights, scales, rows, cols, x, n, y, from, to); break;
            default: Kernel<TF, Lanes1, float>(weights, scales, rows, cols, x, n, y, from, to); break;
        }
    }

    // Fully optimised from the first call: tier-0 code for these loops is several times slower, and a short
    // generation would finish before tiering replaced it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TF, TW, TV>(byte* weights, float* scales, int rows, int cols, float* x, int n, float* y, int from, int to)
        where TF : struct, IWeightFormat where TW : struct, ILanes<TV> where TV : struct
    {
        float* sums = stackalloc float[8];
        int r = from;
        for (; r + 2 <= to; r += 2) // two weight rows at a time: each row of x loaded once for both
        {
            byte* row = weights + (long)r * cols * TF.Bytes;
            int b = 0;
            for (; b + 4 <= n; b += 4)
            {
                float* xb = x + (long)b * cols;
                new Span<float>(sums, 8).Clear();
                int c = FourByTwo<TF, TW, TV>(row, row + cols * TF.Bytes, xb, cols, 0, sums);
                FourByTwo<TF, Lanes1, float>(row, row + cols * TF.Bytes, xb, cols, c, sums);
                for (int k = 0; k < 8; k++)
                    y[(long)(b + k % 4) * rows + r + k / 4] = sums[k] * (scales == null ? 1f : scales[r + k / 4]);
            }
            for (; b < n; b++) OneRow<TF, TW, TV>(weights, scales, rows, cols, x, y, r, b, 2);
        }
        for (; r < to; r++)
        {
            byte* row = weights + (long)r * cols * TF.Bytes;
            int b = 0;
            for (; b + 4 <= n; b += 4)
            {
                float* xb = x + (long)b * cols;
                new Span<float>(sums, 4).Clear();
                Four<TF, Lanes1, float>(row, xb, cols, Four<TF, TW, TV>(row, xb, cols, 0, sums), sums);
                for (int k = 0; k < 4; k++) y[(long)(b + k) * rows + r] = sums[k] * (scales == null ? 1f : scales[r]);
            }
            for (; b < n; b++) OneRow<TF, TW, TV>(weights, scales, rows, cols, x, y, r, b, 1);
        }
    }

    /// Output rows [r, r + count) for row b of x alone.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OneRow<TF, TW, TV>(byte* weights, float* scales, int rows, int cols, float* x, float* y, int r, int b, int count)
        where TF : struct, IWeightFormat where TW : struct, ILanes<TV> where TV : struct
    {
        for (int k = r; k < r + count; k++)
        {
            byte* row = weights + (long)k * cols * TF.Bytes;
            float* xb = x + (long)b * cols;
            float sum = 0;
            One<TF, Lanes1, float>(row, xb, cols, One<TF, TW, TV>(row, xb, cols, 0, ref sum), ref sum);
            y[(long)b * rows + k] = sum * (scales == null ? 1f : scales[k]);
        }
    }

    /// Adds four rows of x against two weight rows (sums: four for the first weight row, then four for the second).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FourByTwo<TF, TW, TV>(byte* row0, byte* row1, float* x, int cols, int start, float* sums)
        where TF : struct, IWeightFormat where TW : struct, ILanes<TV> where TV : struct
    {
        TV a0 = TW.Zero, a1 = TW.Zero, a2 = TW.Zero, a3 = TW.Zero, b0 = TW.Zero, b1 = TW.Zero, b2 = TW.Zero, b3 = TW.Zero;
        int c = start;
        long ahead = 8L * cols * TF.Bytes; // four pairs of rows on, at the same column
        for (; c + TW.Count <= cols; c += TW.Count)
        {
            Prefetch(row0 + c * TF.Bytes + ahead);
            Prefetch(row1 + c * TF.Bytes + ahead);
            TV w = TW.Weights<TF>(row0, c), v = TW.Weights<TF>(row1, c);
            TV x0 = TW.Load(x + c), x1 = TW.Load(x + cols + c), x2 = TW.Load(x + 2 * cols + c), x3 = TW.Load(x + 3 * cols + c);
            a0 = TW.MultiplyAdd(w, x0, a0); a1 = TW.MultiplyAdd(w, x1, a1); a2 = TW.MultiplyAdd(w, x2, a2); a3 = TW.MultiplyAdd(w, x3, a3);
            b0 = TW.MultiplyAdd(v, x0, b0); b1 = TW.MultiplyAdd(v, x1, b1); b2 = TW.MultiplyAdd(v, x2, b2); b3 = TW.MultiplyAdd(v, x3, b3);
        }
        sums[0] += TW.Sum(a0); sums[1] += TW.Sum(a1); sums[2] += TW.Sum(a2); sums[3] += TW.Sum(a3);
        sums[4] += TW.Sum(b0); sums[5] += TW.Sum(b1); sums[6] += TW.Sum(b2); sums[7] += TW.Sum(b3);
        return c;
    }

    /// Asks for a weight line early, into L2: with four rows of x the loop is busy with arithmetic and the hardware
    /// prefetcher alone fell behind (the 50k-row head ran at 11–16 GB/s instead of 30 with one row of x; measured
    /// with this: 25–31 GB/s, fp32 head 7.9 → 3.3 ms for four rows).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static void Prefetch(void* p)
    {
        if (Sse.IsSupported) Sse.Prefetch1(p);
    }

    /// Adds four rows of x against one weight row over columns [start, …) in whole vectors; returns where it stopped.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Four<TF, TW, TV>(byte* row, float* x, int cols, int start, float* sums)
        where TF : struct, IWeightFormat where TW : struct, ILanes<TV> where TV : struct
    {
        TV a0 = TW.Zero, a1 = TW.Zero, a2 = TW.Zero, a3 = TW.Zero;
        int c = start;
        for (; c + TW.Count <= cols; c += TW.Count)
        {
            var w = TW.Weights<TF>(row, c);
            a0 = TW.MultiplyAdd(w, TW.Load(x + c), a0);
            a1 = TW.MultiplyAdd(w, TW.Load(x + cols + c), a1);
            a2 = TW.MultiplyAdd(w, TW.Load(x + 2 * cols + c), a2);
            a3 = TW.MultiplyAdd(w, TW.Load(x + 3 * cols + c), a3);
        }
        sums[0] += TW.Sum(a0); sums[1] += TW.Sum(a1); sums[2] += TW.Sum(a2); sums[3] += TW.Sum(a3);
        return c;
    }

    /// One row of x: two accumulators, so the loop waits on memory rather than on the latency of one add chain.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int One<TF, TW, TV>(byte* row, float* x, int cols, int start, ref float sum)
        where TF : struct, IWeightFormat where TW : struct, ILanes<TV> where TV : struct
    {
        TV a0 = TW.Zero, a1 = TW.Zero;
        int c = start;
        for (; c + 2 * TW.Count <= cols; c += 2 * TW.Count)
        {
            a0 = TW.MultiplyAdd(TW.Weights<TF>(row, c), TW.Load(x + c), a0);
            a1 = TW.MultiplyAdd(TW.Weights<TF>(row, c + TW.Count), TW.Load(x + c + TW.Count), a1);
        }
        for (; c + TW.Count <= cols; c += TW.Count) a0 = TW.MultiplyAdd(TW.Weights<TF>(row, c), TW.Load(x + c), a0);
        sum += TW.Sum(a0) + TW.Sum(a1);
        return c;
    }

    /// One vector width: the kernel is written once over it (16 and 8 lanes, and 1 for the tail of a row).
    private interface ILanes<TV> where TV : struct
    {
        static abstract int Count { get; }
        static abstract TV Zero { get; }
        static abstract TV Load(float* p);
        static abstract TV Weights<TF>(byte* row, int col) where TF : struct, IWeightFormat;
        static abstract TV MultiplyAdd(TV w, TV x, TV acc);
        static abstract float Sum(TV v);
    }

    private readonly struct Lanes16 : ILanes<Vector512<float>>
    {
        public static int Count => 16;
        public static Vector512<float> Zero => Vector512<float>.Zero;
        public static Vector512<float> Load(float* p) => Vector512.Load(p);
        public static Vector512<float> Weights<TF>(byte* row, int col) where TF : struct, IWeightFormat => TF.Load16(row, col);
        public static Vector512<float> MultiplyAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);
        public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    }

    private readonly struct Lanes8 : ILanes<Vector256<float>>
    {
        public static int Count => 8;
        public static Vector256<float> Zero => Vector256<float>.Zero;
        public static Vector256<float> Load(float* p) => Vector256.Load(p);
        public static Vector256<float> Weights<TF>(byte* row, int col) where TF : struct, IWeightFormat => TF.Load8(row, col);
        public static Vector256<float> MultiplyAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
        public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    }

    private readonly struct Lanes1 : ILanes<float>
    {
        public static int Count => 1;
        public static float Zero => 0f;
        public static float Load(float* p) => *p;
        public static float Weights<TF>(byte* row, int col) where TF : struct, IWeightFormat => TF.Load1(row, col);
        public static float MultiplyAdd(float w, float x, float acc) => MathF.FusedMultiplyAdd(w, x, acc);
        public static float Sum(float v) => v;
    }
}
