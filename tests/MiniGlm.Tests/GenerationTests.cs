using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using Generator = MiniGlm.Generation.Generator;

namespace MiniGlm.Tests;

public class GenerationTests
{
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);

    private static GptModel TinyModel(int blockSize = 16, int seed = 7)
    {
        manual_seed(seed);
        return new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = blockSize, VocabSize = 50304 });
    }

    private static int[] Run(Generator g, IReadOnlyList<int> prompt, SamplingOptions o, int n = 1, bool cache = true) =>
        g.Generate(prompt, o, n, cache).SelectMany(s => s.Tokens).ToArray();

    [Fact]
    public void Cache_equals_no_cache_greedy_including_context_slides()
    {
        using var model = TinyModel(blockSize: 16);
        var g = new Generator(model, Gpt2);
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 60, StopAtEndOfText = false };
        var prompt = Gpt2.Encode("空中用力，双脚一挺");
        Assert.True(prompt.Count + 60 > 3 * 16); // several slides past block_size
        Assert.Equal(Run(g, prompt, greedy, cache: false), Run(g, prompt, greedy));
        var longPrompt = Enumerable.Range(100, 40).ToList(); // longer than the context from the start
        Assert.Equal(Run(g, longPrompt, greedy, cache: false), Run(g, longPrompt, greedy));
    }

    [Fact]
    public void Decode_weight_copies_never_outlive_a_training_step_or_a_dtype_round_trip()
    {
        using var model = TinyModel(blockSize: 16);
        var g = new Generator(model, Gpt2);
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 12, StopAtEndOfText = false };
        var prompt = Gpt2.Encode("Hello there");
        var before = Run(g, prompt, greedy); // builds the transposed decode copies
        model.train();
        using (no_grad()) // an in-place "optimizer step", as training makes
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
        var after = Run(g, prompt, greedy);
        Assert.Equal(Run(g, prompt, greedy, cache: false), after);
        Assert.NotEqual(before, after);
        model.to(ScalarType.BFloat16);
        model.to(ScalarType.Float32); // new weight tensors, rounded through bf16
        Assert.Equal(Run(g, prompt, greedy, cache: false), Run(g, prompt, greedy));
    }

    [Fact]
    public void Int8_rows_multiply_within_the_rounding_bound_of_their_scales()
    {
        if (!Int8Matrix.IsSupported) return; // no AVX2/FMA: the model decodes in fp32, covered above
        manual_seed(3);
        using var w = randn(100, 72); // 72 columns: four 16-wide steps and a scalar tail of 8
        using var x = randn(3, 1, 72);
        using var q = new Int8Matrix(w);
        using var y = q.Multiply(x);
        Assert.Equal(new long[] { 3, 1, 100 }, y.shape);
        using var exact = x.matmul(w.t());
        // Each weight is off by at most half its row's step (absmax / 127 / 2), so |error| ≤ Σ|x| · step / 2.
        using var step = w.abs().amax(1) / 127.0;
        using var bound = x.abs().sum(-1, keepdim: true) * step / 2 + 1e-4;
        Assert.True((y - exact).abs().le(bound).all().item<bool>());
        Assert.True((y - exact).abs().max().item<float>() > 0); // it really is quantized
    }

    [Fact]
    public void Int8_decoding_follows_fp32_closely_and_switches_back_exactly()
    {
        if (!Int8Matrix.IsSupported) return; // no AVX2/FMA: the model decodes in fp32, covered above
        using var model = TinyModel(blockSize: 32);
        model.eval();
        var g = new Generator(model, Gpt2);
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 8, StopAtEndOfText = false };
        var prompt = Gpt2.Encode("床前明月光");
        var fp32 = Run(g, prompt, greedy);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0);
        Tensor Step(KvCache cache) { model.Forward(ids, null, cache); return model.Forward(ids[.., ^1..], null, cache, lastOnly: true); }
        using var c1 = new KvCache(model.Config, 1, CPU, ScalarType.Float32);
        var exact = Step(c1);
        model.SetInferenceDtype(InferenceDtype.Int8);
        Assert.Equal(InferenceDtype.Int8, model.InferenceDtype);
        using var c2 = new KvCache(model.Config, 1, CPU, ScalarType.Float32);
        var int8 = Step(c2);
        double relative = ((int8 - exact).norm() / exact.norm()).item<float>();
        Assert.InRange(relative, 1e-6, 0.02);
        model.SetInferenceDtype(InferenceDtype.Float32);
        Assert.Equal(fp32, Run(g, prompt, greedy)); // the fp32 copies come back, exactly
    }

    [Fact]
    public void Batched_samples_with_cache_equal_no_cache_and_the_same_seed_gives_the_same_text()
    {
        using var model = TinyModel(blockSize: 16);
        var g = new Generator(model, Gpt2);
        var o = new SamplingOptions { MaxNewTokens = 30, StopAtEndOfText = false, Seed = 42, TopK = 50, TopP = 0.9 };
        var prompt = Gpt2.Encode("Hello");
        var a = g.Generate(prompt, o, 3).ToList();
        var b = g.Generate(prompt, o, 3).ToList();
        Assert.Equal(a.SelectMany(s => s.Tokens), b.SelectMany(s => s.Tokens));
        Assert.Equal(a.SelectMany(s => s.Tokens), Run(g, prompt, o, 3, cache: false));
        // three samples of one batch should not all be identical
        var rows = Enumerable.Range(0, 3).Select(i => string.Join(",", a.Select(s => s.Tokens[i]))).Distinct().Count();
        Assert.True(rows > 1);
        var other = Run(g, prompt, o with { Seed = 43 }, 3);
        Assert.NotEqual(a.SelectMany(s => s.Tokens), other);
    }

    [Fact]
    public void Stops_at_end_of_text_unless_told_not_to()
    {
        manual_seed(7);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 16, VocabSize = 50304, Bias = true });
        using (no_grad()) // make <|endoftext|> the argmax everywhere: a constant final state that points at its row
        {
            var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            p["transformer.ln_f.weight"].zero_();
            p["transformer.ln_f.bias"].fill_(1);
            p["transformer.wte.weight"][Gpt2.EotId].fill_(1);
        }
        var g = new Generator(model, Gpt2);
        var o = new SamplingOptions { Temperature = 0, MaxNewTokens = 20 };
        var steps = g.Generate(Gpt2.Encode("abc"), o).ToList();
        Assert.True(steps.Count < 20);
        Assert.Equal(Gpt2.EotId, steps[^1].Tokens[0]);
        Assert.True(steps[^1].Finished[0]);
        Assert.Equal(20, g.Generate(Gpt2.Encode("abc"), o with { StopAtEndOfText = false }).Count());
    }

    [Fact]
    public void Cancellation_stops_at_once_and_the_engine_is_ready_again()
    {
        using var model = TinyModel();
        var g = new Generator(model, Gpt2);
        var o = new SamplingOptions { MaxNewTokens = 200, StopAtEndOfText = false };
        using var cts = new CancellationTokenSource();
        int steps = 0;
        foreach (var s in g.Generate(Gpt2.Encode("x"), o, cancel: cts.Token))
            if (++steps == 5) cts.Cancel();
        Assert.InRange(steps, 5, 6);
        Assert.Equal(10, g.Generate(Gpt2.Encode("x"), o with { MaxNewTokens = 10 }).Count());
    }

    [Fact]
    public void Filters_follow_their_definitions_on_hand_made_logits()
    {
        var logits = tensor(new float[] { 1f, 3f, 2f, 0.5f, -1f, 9f }).view(1, 6);
        float[] F(SamplingOptions o, Tensor? ctx = null, int usable = 5) => Sampler.Filter(logits, ctx, o, usable).data<float>().ToArray();
        var ninf = float.NegativeInfinity;
        // the padded id 5 is never drawn; top-k keeps the 2 largest
        Assert.Equal(new[] { ninf, 3f, 2f, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 2 }));
        // temperature divides
        Assert.Equal(new[] { 0.5f, 1.5f, 1f, 0.25f, -0.5f, ninf }, F(new SamplingOptions { Temperature = 2, TopK = 0 }));
        // top-p: softmax of (1,3,2,.5,-1) ≈ (.086,.637,.234,.052,.012): 0.637 < 0.8 so id 2 stays; the rest go
        Assert.Equal(new[] { ninf, 3f, 2f, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.8 }));
        Assert.Equal(new[] { ninf, 3f, ninf, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.5 }));
        // repetition penalty: seen positive logits are divided, negative ones multiplied
        var seen = tensor(new long[] { 1, 4 }).view(1, 2);
        Assert.Equal(new[] { 1f, 1.5f, 2f, 0.5f, -2f, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, RepetitionPenalty = 2 }, seen));
    }

    [Fact]
    public void Top_k_sampling_draws_from_the_k_best_with_softmax_odds()
    {
        var row = tensor(new float[] { 1f, 3f, 2f, 0.5f, -1f, 9f });
        var logits = row.unsqueeze(0).repeat(4000, 1);
        using var sampler = new Sampler(new SamplingOptions { Temperature = 1, TopK = 2 }, usableVocab: 5);
        var ids = sampler.Next(logits, null).data<long>().ToArray();
        Assert.All(ids, id => Assert.Contains(id, new long[] { 1, 2 })); // never the padded id 5, never outside top-2
        double share = ids.Count(id => id == 1) / 4000.0;
        Assert.InRange(share, 0.70, 0.76); // e³ / (e³ + e²) ≈ 0.731
    }

    [Theory]
    [InlineData(-0.1, 1.0, "temperature")]
    [InlineData(1.0, 0.0, "top_p")]
    [InlineData(1.0, 1.5, "top_p")]
    public void Bad_sampling_options_are_clear_errors(double temperature, double topP, string key)
    {
        var e = Assert.Throws<MiniGlmException>(() => new SamplingOptions { Temperature = temperature, TopP = topP }.Validated());
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Streaming_decoder_never_breaks_a_character_whatever_the_split()
    {
        var text = "空中用力，双脚一挺！Hello 世界 🎉 ok";
        var ids = Gpt2.Encode(text);
        Assert.True(ids.Count > text.Length); // several tokens per character somewhere
        var d = new StreamingDecoder(Gpt2);
        var pieces = ids.Select(d.Push).Append(d.Flush()).ToList();
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        // every piece is whole characters: never a lone surrogate
        Assert.All(pieces, p => Assert.True(p.Length == 0 || !char.IsHighSurrogate(p[^1])));
    }

    [Fact]
    public void Streaming_decoder_emits_every_byte_split_at_any_boundary()
    {
        // Feed single-byte tokens (GPT-2 has one per byte) so a character is split at every byte boundary.
        var text = "你好，世界";
        var byteIds = System.Text.Encoding.UTF8.GetBytes(text).Select(ByteToken).ToArray();
        var d = new StreamingDecoder(Gpt2);
        var pieces = byteIds.Select(d.Push).ToList();
        Assert.Equal(text, string.Concat(pieces) + d.Flush());
        Assert.Equal(text.Length, pieces.Count(p => p.Length > 0)); // each character appears exactly when complete
        // an incomplete tail is flushed as U+FFFD, nothing is silently dropped
        var d2 = new StreamingDecoder(Gpt2);
        Assert.Equal("", d2.Push(byteIds[0]));
        Assert.Equal("\uFFFD", d2.Flush());
    }

    private static int ByteToken(byte b)
    {
        for (int id = 0; id < 256 + 1000; id++)
            if (Gpt2.TokenBytes(id) is { Length: 1 } bytes && bytes[0] == b) return id;
        throw new InvalidOperationException($"no single-byte token for {b}");
    }
}
