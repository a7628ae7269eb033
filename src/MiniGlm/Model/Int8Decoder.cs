using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// One decode step of the whole model (one new token per row, attending to the KV cache) in plain C# over int8
/// weights, as llm.c writes its forward pass: no libtorch call between the embedding and the logits. A decode step
/// reads every weight once, so its floor is memory bandwidth over the weight bytes, a quarter of fp32's in int8;
/// through the modules, the ~200 small libtorch ops of a step (each a dispatch, an allocation, a thread fan-out)
/// cost about as much again. The arithmetic is the modules' (pre-LN blocks, exact GELU, softmax attention over
/// the cache) with weights rounded to int8 per row; prefill and training never come here.
internal sealed unsafe class Int8Decoder : IDisposable
{
    private readonly int nEmbd, nHead, headSize, vocab, capacity;
    private readonly Tensor wte, wpe; // fp32 aliases: embeddings are looked up, not multiplied, so they stay exact
    private readonly Layer[] layers;
    private readonly Norm lnF;
    private readonly Int8Matrix head;

    public Int8Decoder(GptModel model)
    {
        var c = model.Config;
        (nEmbd, nHead, headSize, vocab, capacity) = (c.NEmbd, c.NHead, c.HeadSize, c.VocabSize, c.BlockSize);
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Tensor W(string name) => p[name].detach().contiguous().DetachFromDisposeScope();
        float[]? Floats(string name) => p.TryGetValue(name, out var t) ? t.detach().to(ScalarType.Float32).data<float>().ToArray() : null;
        Norm NormOf(string prefix) => new(Floats(prefix + ".weight")!, Floats(prefix + ".bias"));
        Affine AffineOf(string prefix) => new(new Int8Matrix(p[prefix + ".weight"]), Floats(prefix + ".bias"));

        wte = W("transformer.wte.weight");
        wpe = W("transformer.wpe.weight");
        layers = Enumerable.Range(0, c.NLayer).Select(i => $"transformer.h.{i}.").Select(h => new Layer(
            NormOf(h + "ln_1"), AffineOf(h + "attn.c_attn"), AffineOf(h + "attn.c_proj"),
            NormOf(h + "ln_2"), AffineOf(h + "mlp.c_fc"), AffineOf(h + "mlp.c_proj"))).ToArray();
        lnF = NormOf("transformer.ln_f");
        head = new Int8Matrix(wte);
    }

    /// True while this copy was made from these weights: to() and checkpoint loads make new tensors.
    public bool IsCopyOf(Tensor tokenEmbedding) => TensorMemory.StorageAddress(tokenEmbedding) == TensorMemory.StorageAddress(wte);

    /// <param name="idx">(B, 1) token ids; the cache holds B rows and at least one free position.</param>
    /// <returns>(B, 1, vocab) logits; the cache has grown by one position.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code in the first tokens
    public Tensor Step(Tensor idx, KvCache cache)
    {
        int b = (int)idx.shape[0], c = nEmbd, pos = cache.Length;
        var ids = idx.data<long>().ToArray();
        float[] x = new float[b * c], h = new float[b * c], qkv = new float[b * 3 * c], y = new float[b * c],
            ff = new float[b * 4 * c];
        var logits = empty(new long[] { b, 1, vocab }, ScalarType.Float32);
        var embeddings = new ReadOnlySpan<float>(TensorMemory.Floats(wte), (int)wte.NumberOfElements);
        var positions = new ReadOnlySpan<float>(TensorMemory.Floats(wpe), (int)wpe.NumberOfElements);
        for (int r = 0; r < b; r++)
            TensorPrimitives.Add(embeddings.Slice((int)ids[r] * c, c), positions.Slice(pos * c, c), x.AsSpan(r * c, c));

        for (int l = 0; l < layers.Length; l++)
        {
            var layer = layers[l];
            var kv = cache[l];
            layer.Ln1.Apply(x, h, c);
            layer.Attn.Apply(h, qkv, b);
            Attend(qkv, y, b, pos, kv);
            layer.AttnProj.Apply(y, h, b);
            TensorPrimitives.Add(x, h, x);
            layer.Ln2.Apply(x, h, c);
            layer.Fc.Apply(h, ff, b);
            Gelu(ff);
            layer.MlpProj.Apply(ff, h, b);
            TensorPrimitives.Add(x, h, x);
            kv.Length = pos + 1;
        }
        lnF.Apply(x, h, c);
        head.Multiply(h, new Span<float>(TensorMemory.Floats(logits), b * vocab));
        return logits;
    }

    /// Writes this step's keys and values into the cache at position pos, then each head of each row attends to
    /// positions 0..pos: softmax(q·k / √head_size) weighting the values, as SDPA does. Heads run in parallel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code in the first tokens
    private void Attend(float[] qkv, float[] y, int b, int pos, LayerKvCache kv)
    {
        int c = nEmbd, hs = headSize, heads = nHead;
        float* keys = TensorMemory.Floats(kv.Keys), values = TensorMemory.Floats(kv.Values);
        float scale = 1f / MathF.Sqrt(hs);
        Array.Clear(y);
        fixed (float* pq = qkv, py = y)
        {
            float* q0 = pq, y0 = py; // fixed locals cannot be captured; the pin lasts until Parallel.For returns
            void Head(int rh)
            {
                int r = rh / heads, hd = rh % heads;
                long rowHead = ((long)r * heads + hd) * capacity * hs;
                float* q = q0 + r * 3 * c + hd * hs, output = y0 + r * c + hd * hs;
                new ReadOnlySpan<float>(q + c, hs).CopyTo(new Span<float>(keys + rowHead + (long)pos * hs, hs));
                new ReadOnlySpan<float>(q + 2 * c, hs).CopyTo(new Span<float>(values + rowHead + (long)pos * hs, hs));
                Span<float> scores = stackalloc float[pos + 1];
                for (int j = 0; j <= pos; j++) scores[j] = Dot(q, keys + rowHead + (long)j * hs, hs) * scale;
                TensorPrimitives.SoftMax(scores, scores);
                for (int j = 0; j <= pos; j++) AddScaled(output, values + rowHead + (long)j * hs, scores[j], hs);
            }
            if (b * heads * (pos + 1) < 512) for (int rh = 0; rh < b * heads; rh++) Head(rh);
            else Parallel.For(0, b * heads, Head);
        }
    }

    // Head-sized vector loops inlined here: a library call per 64 floats cost more than the arithmetic.
    private static float Dot(float* a, float* b, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8) acc += Vector256.Load(a + i) * Vector256.Load(b + i);
        float sum = Vector256.Sum(acc);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void AddScaled(float* y, float* v, float p, int n)
    {
        var scale = Vector256.Create(p);
        int i = 0;
        for (; i <= n - 8; i += 8) (Vector256.Load(y + i) + Vector256.Load(v + i) * scale).Store(y + i);
        for (; i < n; i++) y[i] += v[i] * p;
    }

    /// Exact GELU, x·Φ(x), as nanoGPT's nn.GELU() (not the tanh approximation).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code in the first tokens
    private static void Gelu(Span<float> v)
    {
        for (int i = 0; i < v.Length; i++) v[i] = 0.5f * v[i] * (1f + Erf(v[i] * 0.70710678f));
    }

    /// erf by Abramowitz & Stegun 7.1.26: absolute error ≤ 1.5e-7, below fp32's resolution of GELU's output.
    private static float Erf(float x)
    {
        float a = MathF.Abs(x), t = 1f / (1f + 0.3275911f * a);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float e = 1f - poly * MathF.Exp(-a * a);
        return x < 0 ? -e : e;
    }

    public void Dispose()
    {
        wte.Dispose();
        wpe.Dispose();
        foreach (var layer in layers) layer.Dispose();
        head.Dispose();
    }

    /// LayerNorm over each row of n_embd values (eps as the modules').
    private sealed record Norm(float[] Weight, float[]? Bias)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Apply(float[] input, float[] output, int width)
        {
            for (int r = 0; r < input.Length / width; r++)
            {
                var x = input.AsSpan(r * width, width);
                var o = output.AsSpan(r * width, width);
                float mean = TensorPrimitives.Sum(x) / width;
                TensorPrimitives.Subtract(x, mean, o);
                float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(o) / width + (float)GptModel.LayerNormEps);
                TensorPrimitives.Multiply(o, inv, o);
                TensorPrimitives.Multiply(o, Weight, o);
                if (Bias is not null) TensorPrimitives.Add(o, Bias, o);
            }
        }
    }

    /// y = W x (+ bias) for each of n rows, W in int8.
    private sealed record Affine(Int8Matrix Weight, float[]? Bias) : IDisposable
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Apply(float[] input, float[] output, int n)
        {
            Weight.Multiply(input.AsSpan(0, n * Weight.Cols), output.AsSpan(0, n * Weight.Rows));
            if (Bias is null) return;
            for (int r = 0; r < n; r++) TensorPrimitives.Add(output.AsSpan(r * Weight.Rows, Weight.Rows), Bias, output.AsSpan(r * Weight.Rows, Weight.Rows));
        }

        public void Dispose() => Weight.Dispose();
    }

    private sealed record Layer(Norm Ln1, Affine Attn, Affine AttnProj, Norm Ln2, Affine Fc, Affine MlpProj) : IDisposable
    {
        public void Dispose()
        {
            Attn.Dispose(); AttnProj.Dispose(); Fc.Dispose(); MlpProj.Dispose();
        }
    }
}
