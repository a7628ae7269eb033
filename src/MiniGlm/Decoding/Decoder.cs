using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MiniGlm.Model;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace MiniGlm.Decoding;

/// The model's forward pass for inference, written out in C# as llm.c writes it: token (and for gpt2 position)
/// embeddings, pre-norm blocks (attention over the KV cache, which holds n_kv_head heads; rotary positions for
/// llama; exact GELU or SwiGLU), the final norm and the head, with the weights in one
/// format (<see cref="InferenceDtype"/>) and no libtorch call between the token ids and the logits. A one-token
/// step reads every weight once, so its floor is the weight bytes over the memory bandwidth; through the modules,
/// the ~200 small libtorch ops of a step cost about as much again. The arithmetic is <see cref="GptModel"/>'s and <see cref="LlamaModel"/>'s;
/// the equivalence tests hold the two together.
/// A decoder is a copy of the weights made when it is built (fp32: an alias that keeps the old storage alive):
/// build it when a model is loaded for inference, and build a new one after the weights change.
public sealed unsafe class Decoder : IDisposable
{
    private readonly int nEmbd, nHead, nKvHead, headSize, vocab, qkvWidth, mlpWidth;
    private readonly bool llama;
    private readonly Tensor wte; // fp32: embeddings are looked up, not multiplied, so they stay exact
    private readonly Tensor? wpe; // gpt2's position table; llama rotates q and k instead (ropeCos, ropeSin)
    private readonly float* embeddings, positions;
    private readonly float[] ropeCos = [], ropeSin = [];
    private readonly Layer[] layers;
    private readonly Norm lnF;
    private readonly WeightMatrix head;

    public InferenceDtype Dtype { get; }

    /// The vector instructions the weight products run on here, for benchmark reports.
    public static string Instructions => WeightMatrix.NativeLanes switch { 16 => "AVX-512 (16 lanes)", 8 => "AVX2 (8 lanes)", _ => "scalar" };
    public GptConfig Config { get; }

    public Decoder(LanguageModel model, InferenceDtype dtype)
    {
        var c = Config = model.Config;
        Dtype = dtype;
        (nEmbd, nHead, nKvHead, headSize, vocab, llama) = (c.NEmbd, c.NHead, c.KvHeads, c.HeadSize, c.VocabSize, c.IsLlama);
        (qkvWidth, mlpWidth) = ((nHead + 2 * nKvHead) * headSize, c.MlpWidth);
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        float[]? Floats(string name) => p.TryGetValue(name, out var t) ? t.detach().to(ScalarType.Float32).data<float>().ToArray() : null;
        Norm NormOf(string prefix) => new(Floats(prefix + ".weight")!, Floats(prefix + ".bias"), (float)c.Eps, llama);
        Affine AffineOf(string prefix) => new(WeightMatrix.Create(p[prefix + ".weight"], dtype), Floats(prefix + ".bias"));
        // Matrices that read the same input are stacked into one, so a step passes over that input once:
        // llama's q, k, v (gpt2's c_attn is already one) and its gate and up.
        Affine Stacked(params string[] prefixes)
        {
            // No dispose scope here: a matrix keeps tensors of its own made from this one (bf16's libtorch copy).
            using var noGrad = no_grad();
            using var weight = cat(prefixes.Select(x => p[x + ".weight"]).ToArray(), 0);
            var biases = prefixes.Select(x => Floats(x + ".bias")).ToList();
            return new(WeightMatrix.Create(weight, dtype), biases.All(b => b is null) ? null : biases.SelectMany(b => b!).ToArray());
        }

        if (llama)
        {
            wte = Fp32Matrix.Floats(p["model.embed_tokens.weight"], out embeddings);
            layers = Enumerable.Range(0, c.NLayer).Select(i => $"model.layers.{i}.").Select(h => new Layer(
                NormOf(h + "input_layernorm"), Stacked(h + "self_attn.q_proj", h + "self_attn.k_proj", h + "self_attn.v_proj"),
                AffineOf(h + "self_attn.o_proj"), NormOf(h + "post_attention_layernorm"),
                Stacked(h + "mlp.gate_proj", h + "mlp.up_proj"), AffineOf(h + "mlp.down_proj"))).ToArray();
            lnF = NormOf("model.norm");
            head = p.TryGetValue("lm_head.weight", out var untied) ? WeightMatrix.Create(untied, dtype) : WeightMatrix.Create(wte, dtype);
            // The model's own angles (fp32, as its forward computes them), first half of each head: the halves share them.
            using var scope = NewDisposeScope();
            var (cos, sin) = LlamaModel.Rotary(arange(0, c.BlockSize, dtype: int64), c);
            ropeCos = cos[.., ..(headSize / 2)].contiguous().data<float>().ToArray();
            ropeSin = sin[.., ..(headSize / 2)].contiguous().data<float>().ToArray();
        }
        else
        {
            wte = Fp32Matrix.Floats(p["transformer.wte.weight"], out embeddings);
            wpe = Fp32Matrix.Floats(p["transformer.wpe.weight"], out positions);
            layers = Enumerable.Range(0, c.NLayer).Select(i => $"transformer.h.{i}.").Select(h => new Layer(
                NormOf(h + "ln_1"), AffineOf(h + "attn.c_attn"), AffineOf(h + "attn.c_proj"),
                NormOf(h + "ln_2"), AffineOf(h + "mlp.c_fc"), AffineOf(h + "mlp.c_proj"))).ToArray();
            lnF = NormOf("transformer.ln_f");
            head = WeightMatrix.Create(wte, dtype);
        }
    }

    /// Appends <paramref name="tokens"/>[i] to cache row <paramref name="rows"/>[i] (a prompt, or one new token)
    /// and returns the logits after each row's last new token, (rows, vocab). All the rows' tokens go through each
    /// weight together; each token attends to its own row's positions up to itself.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no slow tier-0 code in the first tokens
    public Tensor Step(KvCache cache, IReadOnlyList<int> rows, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        if (rows.Count != tokens.Count || rows.Count == 0)
            throw new ArgumentException($"a step needs tokens for each of its rows: {rows.Count} rows, {tokens.Count} token lists");
        int c = nEmbd, n = tokens.Sum(t => t.Count);
        var where = new (int Row, int Position)[n];
        var last = new int[rows.Count];
        int ffWidth = llama ? 2 * mlpWidth : mlpWidth;
        float[] x = new float[n * c], h = new float[n * c], qkv = new float[n * qkvWidth], y = new float[n * c], ff = new float[n * ffWidth];
        float[] act = llama ? new float[n * mlpWidth] : ff;
        for (int i = 0, t = 0; i < rows.Count; i++)
        {
            int start = cache.Length(rows[i]), count = tokens[i].Count;
            if (count == 0 || start + count > cache.Capacity)
                throw new ArgumentException($"row {rows[i]} holds {start} positions: {count} more do not fit a block_size of {cache.Capacity}");
            for (int j = 0; j < count; j++, t++)
            {
                int id = tokens[i][j];
                if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is outside the vocabulary of {vocab}");
                where[t] = (rows[i], start + j);
                var embedding = new ReadOnlySpan<float>(embeddings + (long)id * c, c);
                if (wpe is null) embedding.CopyTo(x.AsSpan(t * c, c));
                else TensorPrimitives.Add(embedding, new ReadOnlySpan<float>(positions + (long)(start + j) * c, c), x.AsSpan(t * c, c));
            }
            last[i] = t - 1;
        }

        for (int l = 0; l < layers.Length; l++)
        {
            var layer = layers[l];
            layer.Ln1.Apply(x, h, n, c);
            layer.Attn.Apply(h, qkv, n);
            if (llama) Rotate(qkv, where);
            Attend(cache, l, where, qkv, y);
            layer.AttnProj.Apply(y, h, n);
            TensorPrimitives.Add(x.AsSpan(0, n * c), h.AsSpan(0, n * c), x.AsSpan(0, n * c));
            layer.Ln2.Apply(x, h, n, c);
            layer.Fc.Apply(h, ff, n);
            if (llama) SwiGlu(ff, act, n);
            else Gelu(ff.AsSpan(0, n * mlpWidth));
            layer.MlpProj.Apply(act, h, n);
            TensorPrimitives.Add(x.AsSpan(0, n * c), h.AsSpan(0, n * c), x.AsSpan(0, n * c));
        }
        for (int i = 0; i < rows.Count; i++) cache.Extend(rows[i], tokens[i].Count);

        for (int i = 0; i < rows.Count; i++) lnF.Apply(x.AsSpan(last[i] * c, c), h.AsSpan(i * c, c));
        var logits = empty(new long[] { rows.Count, vocab }, ScalarType.Float32);
        using (var storage = logits.storage<float>())
            head.Multiply(h.AsSpan(0, rows.Count * c), new Span<float>((float*)storage.data_ptr(), rows.Count * vocab));
        return logits;
    }

    /// Rotary positions on each token's query and key heads (the first n_head + n_kv_head heads of its q|k|v row):
    /// the pair (a, b) of a head's halves at angle θ becomes (a·cos θ − b·sin θ, b·cos θ + a·sin θ).
    private void Rotate(float[] qkv, (int Row, int Position)[] where)
    {
        int half = headSize / 2;
        for (int t = 0; t < where.Length; t++)
        {
            var cos = ropeCos.AsSpan(where[t].Position * half, half);
            var sin = ropeSin.AsSpan(where[t].Position * half, half);
            for (int hd = 0; hd < nHead + nKvHead; hd++)
            {
                var v = qkv.AsSpan(t * qkvWidth + hd * headSize, headSize);
                for (int i = 0; i < half; i++)
                {
                    float a = v[i], b = v[i + half];
                    v[i] = a * cos[i] - b * sin[i];
                    v[i + half] = b * cos[i] + a * sin[i];
                }
            }
        }
    }

    /// silu(gate) · up for each row of [gate | up].
    private void SwiGlu(float[] gateUp, float[] output, int n)
    {
        for (int r = 0; r < n; r++)
        {
            var gate = gateUp.AsSpan(r * 2 * mlpWidth, mlpWidth);
            var up = gateUp.AsSpan(r * 2 * mlpWidth + mlpWidth, mlpWidth);
            var o = output.AsSpan(r * mlpWidth, mlpWidth);
            TensorPrimitives.Sigmoid(gate, o);
            TensorPrimitives.Multiply(o, gate, o);
            TensorPrimitives.Multiply(o, up, o);
        }
    }

    /// Writes the step's keys and values into the cache, then each head of each token attends to its row's
    /// positions up to its own: softmax(q·k / √head_size) weighting the values, as SDPA does. Heads run in parallel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend(KvCache cache, int layer, (int Row, int Position)[] where, float[] qkv, float[] y)
    {
        int c = nEmbd, hs = headSize, heads = nHead, kvHeads = nKvHead, group = nHead / nKvHead, w = qkvWidth, n = where.Length;
        float scale = 1f / MathF.Sqrt(hs);
        fixed (float* pq = qkv, py = y)
        {
            float* q0 = pq, y0 = py; // fixed locals cannot be captured; the pin lasts until DecodeThreads.For returns
            for (int t = 0; t < n; t++)
                for (int kv = 0; kv < kvHeads; kv++)
                {
                    var (row, pos) = where[t];
                    new ReadOnlySpan<float>(q0 + t * w + (heads + kv) * hs, hs).CopyTo(new Span<float>(cache.Key(row, layer, kv, pos), hs));
                    new ReadOnlySpan<float>(q0 + t * w + (heads + kvHeads + kv) * hs, hs).CopyTo(new Span<float>(cache.Value(row, layer, kv, pos), hs));
                }
            void Head(int th)
            {
                int t = th / heads, hd = th % heads, kv = hd / group; // query heads share their group's key/value head
                var (row, pos) = where[t];
                float* q = q0 + t * w + hd * hs, output = y0 + t * c + hd * hs;
                new Span<float>(output, hs).Clear();
                Span<float> scores = stackalloc float[pos + 1];
                for (int j = 0; j <= pos; j++) scores[j] = Dot(q, cache.Key(row, layer, kv, j), hs) * scale;
                TensorPrimitives.SoftMax(scores, scores);
                for (int j = 0; j <= pos; j++) AddScaled(output, cache.Value(row, layer, kv, j), scores[j], hs);
            }
            long work = heads * where.Sum(w => w.Position + 1L);
            if (work < 512) for (int th = 0; th < n * heads; th++) Head(th);
            else DecodeThreads.For(n * heads, Head);
        }
    }

    // Head-sized vector loops inlined here: a library call per 64 floats cost more than the arithmetic.
    private static float Dot(float* a, float* b, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 8; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
        float sum = Vector256.Sum(acc);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void AddScaled(float* y, float* v, float p, int n)
    {
        var scale = Vector256.Create(p);
        int i = 0;
        for (; i <= n - 8; i += 8) Vector256.FusedMultiplyAdd(Vector256.Load(v + i), scale, Vector256.Load(y + i)).Store(y + i);
        for (; i < n; i++) y[i] += v[i] * p;
    }

    /// Exact GELU, x·Φ(x), as nanoGPT's nn.GELU() in <see cref="Mlp"/> (not the tanh approximation), eight at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gelu(Span<float> v)
    {
        int i = 0;
        fixed (float* p = v)
            for (; i + 8 <= v.Length; i += 8) Gelu(Vector256.Load(p + i)).Store(p + i);
        if (i == v.Length) return;
        Span<float> tail = stackalloc float[8];
        v[i..].CopyTo(tail);
        Gelu(Vector256.Create<float>(tail)).CopyTo(tail);
        tail[..(v.Length - i)].CopyTo(v[i..]);
    }

    /// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, below fp32's resolution of GELU's output).
    private static Vector256<float> Gelu(Vector256<float> x)
    {
        var one = Vector256<float>.One;
        var a = Vector256.Abs(x * 0.70710678f);
        var t = one / (one + a * 0.3275911f);
        var poly = t * (C(0.254829592f) + t * (C(-0.284496736f) + t * (C(1.421413741f) + t * (C(-1.453152027f) + t * 1.061405429f))));
        var e = one - poly * Vector256.Exp(-a * a);
        var erf = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -e, e);
        return 0.5f * x * (one + erf);
        static Vector256<float> C(float value) => Vector256.Create(value);
    }

    public void Dispose()
    {
        wte.Dispose();
        wpe?.Dispose();
        foreach (var layer in layers) layer.Dispose();
        head.Dispose();
    }

    /// LayerNorm (gpt2) or RMSNorm (llama) over each row of n_embd values, with the model's eps.
    private sealed record Norm(float[] Weight, float[]? Bias, float Eps, bool Rms)
    {
        public void Apply(float[] input, float[] output, int n, int width)
        {
            for (int r = 0; r < n; r++) Apply(input.AsSpan(r * width, width), output.AsSpan(r * width, width));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Apply(ReadOnlySpan<float> x, Span<float> o)
        {
            if (Rms) x.CopyTo(o);
            else TensorPrimitives.Subtract(x, TensorPrimitives.Sum(x) / x.Length, o);
            float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(o) / x.Length + Eps);
            TensorPrimitives.Multiply(o, inv, o);
            TensorPrimitives.Multiply(o, Weight, o);
            if (Bias is not null) TensorPrimitives.Add(o, Bias, o);
        }
    }

    /// y = W x (+ bias) for each of n rows.
    private sealed record Affine(WeightMatrix Weight, float[]? Bias) : IDisposable
    {
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
