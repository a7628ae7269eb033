using MiniGlm.Decoding;
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
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 12, StopAtEndOfText = false };
        var prompt = Gpt2.Encode("Hello there");
        int[] before;
        using (var g = new Generator(model, Gpt2)) before = Run(g, prompt, greedy); // builds the decode copies
        model.train();
        using (no_grad()) // an in-place "optimizer step", as training makes
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
        using (var g = new Generator(model, Gpt2)) // weights changed: a new decoder
        {
            var after = Run(g, prompt, greedy);
            Assert.Equal(Run(g, prompt, greedy, cache: false), after);
            Assert.NotEqual(before, after);
        }
        model.to(ScalarType.BFloat16);
        model.to(ScalarType.Float32); // new weight tensors, rounded through bf16
        using (var g = new Generator(model, Gpt2))
            Assert.Equal(Run(g, prompt, greedy, cache: false), Run(g, prompt, greedy));
    }

    [Fact]
    public void Int8_rows_multiply_within_the_rounding_bound_of_their_scales()
    {
        manual_seed(3);
        using var w = randn(100, 75); // 75 columns: vector steps of 16 (or 8) and a scalar tail
        using var x = randn(5, 1, 75); // 5 samples: one group of four sharing each weight row, then one alone
        using var q = new Int8Matrix(w);
        var output = new float[5 * 100];
        q.Multiply(x.data<float>().ToArray(), output);
        using var y = tensor(output).view(5, 1, 100);
        using var exact = x.matmul(w.t());
        // Each weight is off by at most half its row's step (absmax / 127 / 2) and each activation by half of x's row
        // step (absmax / 16383 / 2), so |error| ≤ Σ|x| · step / 2 + Σ|w| · xstep / 2 (+ the product of the two).
        using var step = w.abs().amax(1) / 127.0;
        using var xstep = x.abs().amax([-1], keepdim: true) / 16383.0;
        using var bound = x.abs().sum(-1, keepdim: true) * step / 2 + w.abs().sum(1) * xstep / 2 + 75 * step * xstep / 4 + 1e-4;
        Assert.True((y - exact).abs().le(bound).all().item<bool>());
        Assert.True((y - exact).abs().max().item<float>() > 0); // it really is quantized
    }

    [Fact]
    public void Int8_decoding_follows_fp32_closely_and_switches_back_exactly()
    {
        using var model = TinyModel(blockSize: 32);
        model.eval();
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 8, StopAtEndOfText = false };
        var prompt = Gpt2.Encode("床前明月光");
        int[] fp32;
        using (var g = new Generator(model, Gpt2)) fp32 = Run(g, prompt, greedy);
        using var scope = NewDisposeScope();
        Tensor Step(InferenceDtype dtype)
        {
            using var decoder = new Decoder(model, dtype);
            var cache = new KvCache(model.Config);
            int row = cache.Add();
            decoder.Step(cache, [row], [prompt]);
            return decoder.Step(cache, [row], [[prompt[^1]]]);
        }
        var exact = Step(InferenceDtype.Float32);
        using (var g = new Generator(model, Gpt2, InferenceDtype.Int8)) Assert.Equal(InferenceDtype.Int8, g.Dtype);
        var int8 = Step(InferenceDtype.Int8);
        double relative = ((int8 - exact).norm() / exact.norm()).item<float>();
        Assert.InRange(relative, 1e-6, 0.02);
        using (var g = new Generator(model, Gpt2)) Assert.Equal(fp32, Run(g, prompt, greedy)); // the fp32 copies come back, exactly
    }

    [Fact]
    public void Int8_decoder_tracks_fp32_step_by_step_for_every_row_of_a_batch()
    {
        manual_seed(11); // biases on, three heads of 16 (not a multiple of the 16-wide int8 loop's tail-free case)
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 3, NEmbd = 48, BlockSize = 32, VocabSize = 320, Bias = true });
        model.eval();
        using (no_grad()) foreach (var (name, p) in model.named_parameters()) if (name.EndsWith(".bias")) p.normal_(0, 0.05);
        using var scope = NewDisposeScope();
        var prompt = randint(0, 320, new long[] { 3, 7 });
        var steps = randint(0, 320, new long[] { 3, 20 });
        Tensor[] Decode(InferenceDtype dtype)
        {
            using var decoder = new Decoder(model, dtype);
            var cache = new KvCache(model.Config);
            int[] rows = [cache.Add(), cache.Add(), cache.Add()];
            decoder.Step(cache, rows, rows.Select(r => Ids(prompt[r])).ToArray());
            return Enumerable.Range(0, 20).Select(i => decoder.Step(cache, rows, rows.Select(r => Ids(steps[r, i..(i + 1)])).ToArray())).ToArray();
        }
        var exact = Decode(InferenceDtype.Float32);
        var int8 = Decode(InferenceDtype.Int8);
        for (int i = 0; i < 20; i++)
            for (int row = 0; row < 3; row++)
            {
                double relative = ((int8[i][row] - exact[i][row]).norm() / exact[i][row].norm()).item<float>();
                Assert.InRange(relative, 1e-7, 0.02); // rows attend to their own cache: a mix-up would be far off
            }
    }

    [Theory]
    [InlineData(InferenceDtype.Float32, 1e-5)]
    [InlineData(InferenceDtype.BFloat16, 0.02)]
    public void Decoder_steps_follow_the_reference_modules(InferenceDtype dtype, double bound)
    {
        manual_seed(5); // biases on, and a vocabulary and width that leave tails after every vector width
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 3, NEmbd = 48, BlockSize = 24, VocabSize = 333, Bias = true });
        model.eval();
        using (no_grad()) foreach (var (name, p) in model.named_parameters()) if (name.EndsWith(".bias")) p.normal_(0, 0.05);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(0, 333, new long[] { 1, 24 });
        var reference = model.Forward(ids, null)[0]; // (24, vocab): the logits after every prefix
        using var decoder = new Decoder(model, dtype);
        var cache = new KvCache(model.Config);
        int row = cache.Add();
        var tokens = Ids(ids[0]);
        // A prompt of 9 in one step, then one token per step: each step's logits are the modules' at that position.
        var logits = new List<Tensor> { decoder.Step(cache, [row], [tokens[..9]])[0] };
        for (int t = 9; t < 24; t++) logits.Add(decoder.Step(cache, [row], [tokens[t..(t + 1)]])[0]);
        for (int i = 0; i < logits.Count; i++)
        {
            var exact = reference[8 + i];
            double relative = ((logits[i] - exact).norm() / exact.norm()).item<float>();
            Assert.InRange(relative, dtype == InferenceDtype.Float32 ? 0 : 1e-6, bound); // bf16 really is rounded
        }
        Assert.Equal(24, cache.Length(row));
        Assert.Throws<ArgumentException>(() => decoder.Step(cache, [row], [[1]])); // block_size is full
    }

    [Fact]
    public void Rows_of_different_lengths_in_one_step_each_equal_their_single_row_result()
    {
        using var model = TinyModel(blockSize: 16);
        model.eval();
        using var scope = NewDisposeScope();
        using var decoder = new Decoder(model, InferenceDtype.Float32);
        int[][] prompts = [[11, 12, 13], [21, 22, 23, 24, 25, 26, 27], [31]];
        Tensor Alone(int[] prompt, int next)
        {
            var cache = new KvCache(model.Config);
            int row = cache.Add();
            decoder.Step(cache, [row], [prompt]);
            return decoder.Step(cache, [row], [[next]])[0];
        }
        var shared = new KvCache(model.Config);
        int[] rows = prompts.Select(_ => shared.Add()).ToArray();
        decoder.Step(shared, rows[..2], prompts[..2]); // two rows prefilled together
        decoder.Step(shared, [rows[2]], [prompts[2]]); // a third joins later
        shared.Remove(rows[0]); // and one leaves: the others keep their own lengths
        var together = decoder.Step(shared, rows[1..], [[5], [6]]);
        Assert.Equal(new[] { 8, 2 }, rows[1..].Select(shared.Length));
        Assert.True(together[0].allclose(Alone(prompts[1], 5), rtol: 1e-5, atol: 1e-5));
        Assert.True(together[1].allclose(Alone(prompts[2], 6), rtol: 1e-5, atol: 1e-5));
        Assert.False(together[0].allclose(together[1], rtol: 1e-3, atol: 1e-3));
    }

    [Theory]
    [InlineData(InferenceDtype.Float32)]
    [InlineData(InferenceDtype.BFloat16)]
    [InlineData(InferenceDtype.Int8)]
    public void Every_vector_width_gives_the_same_product(InferenceDtype dtype)
    {
        // The CPU picks one width (AVX-512, AVX2 or none); the others must agree wherever the code runs.
        manual_seed(2);
        using var w = randn(71, 83); // 71 rows: pairs and one alone; 83 columns: tails after 16, 8 and the paired 2×16 loop
        var x = randn(6, 83).data<float>().ToArray(); // four rows share a pass, then two alone
        using var matrix = WeightMatrix.Create(w, dtype);
        float[] Product(int lanes)
        {
            var y = new float[6 * 71];
            matrix.Multiply(x, y, lanes);
            return y;
        }
        var scalar = Product(1);
        foreach (int lanes in new[] { 8, 16 })
            Assert.All(Product(lanes).Zip(scalar), p => Assert.Equal(p.Second, p.First, 1e-4));
    }

    [Fact]
    public void A_prompt_long_product_through_libtorch_equals_the_kernel()
    {
        manual_seed(4);
        using var w = randn(40, 83);
        var x = randn(WeightMatrix.LibtorchRows + 1, 83).data<float>().ToArray();
        using var matrix = WeightMatrix.Create(w, InferenceDtype.Float32);
        var (prompt, kernel) = (new float[x.Length / 83 * 40], new float[x.Length / 83 * 40]);
        matrix.Multiply(x, prompt);
        matrix.Multiply(x, kernel, lanes: WeightMatrix.NativeLanes);
        Assert.All(prompt.Zip(kernel), p => Assert.Equal(p.Second, p.First, 1e-4));
        Assert.Contains(prompt.Zip(kernel), p => p.First != p.Second); // different summation order: really two paths
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
        float[] F(SamplingOptions o, int[]? ctx = null, int usable = 5)
        {
            var logits = new float[] { 1f, 3f, 2f, 0.5f, -1f, 9f };
            Sampler.Filter(logits, ctx, o, usable);
            return logits;
        }
        var ninf = float.NegativeInfinity;
        // the padded id 5 is never drawn; top-k keeps the 2 largest
        Assert.Equal(new[] { ninf, 3f, 2f, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 2 }));
        // temperature divides
        Assert.Equal(new[] { 0.5f, 1.5f, 1f, 0.25f, -0.5f, ninf }, F(new SamplingOptions { Temperature = 2, TopK = 0 }));
        // top-p: softmax of (1,3,2,.5,-1) ≈ (.086,.637,.234,.052,.012): 0.637 < 0.8 so id 2 stays; the rest go
        Assert.Equal(new[] { ninf, 3f, 2f, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.8 }));
        Assert.Equal(new[] { ninf, 3f, ninf, ninf, ninf, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.5 }));
        // repetition penalty: seen positive logits are divided, negative ones multiplied
        var seen = new[] { 1, 4, 1 }; // a repeated id is penalised once
        Assert.Equal(new[] { 1f, 1.5f, 2f, 0.5f, -2f, ninf }, F(new SamplingOptions { Temperature = 1, TopK = 0, RepetitionPenalty = 2 }, seen));
    }

    [Fact]
    public void Top_k_sampling_draws_from_the_k_best_with_softmax_odds()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 1, TopK = 2 }, usableVocab: 5);
        var ids = Enumerable.Range(0, 4000).Select(_ => sampler.Next(new float[] { 1f, 3f, 2f, 0.5f, -1f, 9f }, null)).ToArray();
        Assert.All(ids, id => Assert.Contains(id, new[] { 1, 2 })); // never the padded id 5, never outside top-2
        double share = ids.Count(id => id == 1) / 4000.0;
        Assert.InRange(share, 0.70, 0.76); // e³ / (e³ + e²) ≈ 0.731
        // without top-k the draw is over the whole row: id 1 has softmax odds ≈ 0.637 among ids 0–4
        var whole = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0 }, usableVocab: 5);
        var all = Enumerable.Range(0, 4000).Select(_ => whole.Next(new float[] { 1f, 3f, 2f, 0.5f, -1f, 9f }, null)).ToArray();
        Assert.DoesNotContain(5, all);
        Assert.InRange(all.Count(id => id == 1) / 4000.0, 0.60, 0.67);
        Assert.Contains(4, all); // e⁻¹ / Σ ≈ 0.012: about 50 of 4000
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

    [Theory]
    [InlineData("中文 é 😀 a")]
    [InlineData("\u0800\uD7FF\uE000\U0010FFFF")] // the edges of the E0, ED and F4 ranges
    public void Utf8_constraint_lets_every_valid_byte_sequence_through(string text)
    {
        var utf8 = Utf8Constraint.For(Gpt2, 50304);
        int state = 0;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            Assert.False(IsMasked(utf8, state, ByteToken(b)));
            state = utf8.Advance(state, ByteToken(b));
        }
        Assert.Equal(0, state);
    }

    [Theory]
    [InlineData(new byte[] { 0x80 })]             // a continuation byte cannot start a character
    [InlineData(new byte[] { 0xC0, 0x80 })]       // overlong (C0/C1 never occur)
    [InlineData(new byte[] { 0xE0, 0x9F })]       // overlong three-byte form
    [InlineData(new byte[] { 0xED, 0xA0 })]       // a UTF-16 surrogate
    [InlineData(new byte[] { 0xF4, 0x90 })]       // above U+10FFFF
    [InlineData(new byte[] { 0xE4, 0xB8, 0x41 })] // a character cut short by ASCII
    [InlineData(new byte[] { 0xF5 })]
    public void Utf8_constraint_masks_the_token_that_would_break_a_character(byte[] bytes)
    {
        var utf8 = Utf8Constraint.For(Gpt2, 50304);
        int state = 0;
        foreach (var b in bytes[..^1]) state = utf8.Advance(state, ByteToken(b));
        Assert.True(IsMasked(utf8, state, ByteToken(bytes[^1])));
    }

    [Fact]
    public void Utf8_constraint_keeps_end_of_text_between_characters_and_finishes_characters_before_the_limit()
    {
        var utf8 = Utf8Constraint.For(Gpt2, 50304);
        int lead = utf8.Advance(0, ByteToken(0xE4)); // 中 is E4 B8 AD: two bytes to go
        Assert.True(IsMasked(utf8, lead, Gpt2.EotId));
        Assert.False(IsMasked(utf8, 0, Gpt2.EotId));
        Assert.False(IsMasked(utf8, lead, ByteToken(0xB8), tokensLeft: 2)); // one byte left for the last token
        Assert.True(IsMasked(utf8, lead, ByteToken(0xB8), tokensLeft: 1));  // the last token must finish it
        Assert.True(IsMasked(utf8, 0, ByteToken(0xE4), tokensLeft: 2));     // no room for two more bytes
        Assert.False(IsMasked(utf8, 0, ByteToken(0xE4), tokensLeft: 3));
        Assert.True(IsMasked(utf8, 0, 50300)); // vocab padding
    }

    [Fact]
    public void Generated_text_is_valid_utf8_even_when_the_model_prefers_broken_bytes()
    {
        manual_seed(7);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 16, VocabSize = 50304, Bias = true });
        int lead = ByteToken(0xE4);
        using (no_grad()) // a constant final state: the lone lead byte E4 is the argmax everywhere, then 'a'
        {
            var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            p["transformer.ln_f.weight"].zero_();
            p["transformer.ln_f.bias"].fill_(1);
            p["transformer.wte.weight"][lead].fill_(1);
            p["transformer.wte.weight"][ByteToken((byte)'a')].fill_(0.9);
        }
        var g = new Generator(model, Gpt2);
        var strict = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (int max in new[] { 1, 2, 3, 7, 12 })
        {
            var tokens = Run(g, Gpt2.Encode("x"), new SamplingOptions { Temperature = 0, MaxNewTokens = max, StopAtEndOfText = false });
            var bytes = tokens.SelectMany(t => Gpt2.TokenBytes(t).ToArray()).ToArray();
            var text = strict.GetString(bytes); // throws on broken or unfinished UTF-8
            Assert.DoesNotContain('\uFFFD', text);
            if (max >= 3) Assert.Equal(lead, tokens[0]); // a valid choice is left alone when it can be finished
        }
    }

    private static int[] Ids(Tensor row) => row.data<long>().Select(v => (int)v).ToArray();

    private static bool IsMasked(Utf8Constraint utf8, int state, int token, int tokensLeft = 100)
    {
        var logits = new float[50304];
        utf8.Mask(logits, state, tokensLeft);
        return float.IsNegativeInfinity(logits[token]);
    }

    private static int ByteToken(byte b)
    {
        for (int id = 0; id < 256 + 1000; id++)
            if (Gpt2.TokenBytes(id) is { Length: 1 } bytes && bytes[0] == b) return id;
        throw new InvalidOperationException($"no single-byte token for {b}");
    }
}
