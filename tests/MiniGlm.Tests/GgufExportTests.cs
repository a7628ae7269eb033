using MiniGlm.Checkpoints;
using MiniGlm.Decoding;
using MiniGlm.Cli.LlamaCpp;
using MiniGlm.Generation;
using MiniGlm.Interop;
using MiniGlm.Interop.Gguf;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Export to GGUF, checked by llama.cpp itself: it loads the file, its greedy continuation equals ours and its
/// logits are close, for GPT-2's tokenizer and a trained one.
public class GgufExportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private const string Poem = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n" +
                                "The moon is bright tonight; isn't it? 1234 apples, 56 pears.\n";

    /// A tiny model trained until it nearly recites the poems, so its next-token choices are clear-cut.
    private string TrainTiny(bool trainedTokenizer)
    {
        var corpus = dir.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Poem, 40)));
        var prepare = new List<string> { "prepare", "--input", corpus, "--out", dir["data"] };
        if (trainedTokenizer)
        {
            var r = Cli.Run("tokenizer", "train", "--input", Path.GetDirectoryName(corpus)!, "--vocab_size", "300", "--out", dir["tok.tiktoken"]);
            Assert.True(r.Code == 0, r.Err);
            prepare.AddRange(["--tokenizer", dir["tok.tiktoken"]]);
        }
        var p = Cli.Run([.. prepare]);
        Assert.True(p.Code == 0, p.Err);
        new Trainer(TinyTraining.Config(dir["data"], dir["run"], 48, ("max_iters", "150"), ("eval_interval", "150"), ("eval_iters", "1"),
            ("batch_size", "4"), ("dropout", "0.0"))).Run();
        return CheckpointStore.Resolve(dir["run"]);
    }

    /// llama.cpp's greedy decoding of each export dtype against our decoder's (the Generator users get, greedy), over
    /// the whole sequence until the context is full. Our decoder never draws a token that would break a UTF-8
    /// character (Utf8Constraint); llama.cpp has no such rule, and a tiny model's argmax sometimes breaks one (here
    /// in 霜, three byte tokens), so llama.cpp's greedy choice is taken over its logits with that one rule, and the
    /// steps where the rule changed its raw argmax are counted. F32 against our fp32 decoder. F16 and Q8_0 have no
    /// twin among our formats (ours are bf16, and int8 with one scale per row), so each is compared twice: with our
    /// fp32 decoder on the weights exactly as the file stores them (rounded to f16; quantised to q8_0 blocks and
    /// back), where only the arithmetic differs (llama.cpp also rounds the activations to f16 or q8_0 blocks), and
    /// with our decoder in the format of the same bytes per weight (bf16 beside f16, int8 beside q8_0).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama_cpp_decodes_greedily_as_our_decoder_does_in_every_dtype(bool trainedTokenizer)
    {
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var ckpt = TrainTiny(trainedTokenizer);
        var (model, config) = CheckpointStore.LoadModel(ckpt, dropout: 0);
        using var _ = model;
        model.eval();
        var tokenizer = TextTokenizer.Load(config.Tokenizer);
        var prompt = tokenizer.Encode("床前明月光").ToList();
        int steps = model.Config.BlockSize - prompt.Count;

        foreach (var (type, twin, tolerance) in new[] { (GgufFileType.F32, InferenceDtype.Float32, 2e-3), (GgufFileType.F16, InferenceDtype.BFloat16, 0.05),
                     (GgufFileType.Q8_0, InferenceDtype.Int8, 0.1) })
        {
            var gguf = dir[$"model-{type}.gguf"];
            var r = Cli.Run("export", "--ckpt", dir["run"], "--format", "gguf", "--out", gguf, "--dtype", type.Name);
            Assert.True(r.Code == 0, r.Err);
            using var llama = new LlamaCppModel(gguf, model.Config.BlockSize);
            Assert.Equal(tokenizer.VocabSize, llama.VocabSize);
            Assert.Equal("gpt2", llama.Metadata["general.architecture"]);
            var (theirs, theirLogits, ruled) = Greedy(prompt, steps, Utf8Constraint.For(tokenizer, tokenizer.VocabSize),
                ids => ids.Count == prompt.Count ? llama.Feed(ids) : llama.Feed([ids[^1]]));

            using var stored = AsStored(model, type);
            var ours = OurGreedy(stored, tokenizer, InferenceDtype.Float32, prompt, steps);
            var ourLogits = DecoderLogits(stored, prompt, theirs, tokenizer.VocabSize);
            var inTwin = OurGreedy(model, tokenizer, twin, prompt, steps);
            double maxDiff = ourLogits.Zip(theirLogits, (a, b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max()).Max();
            double range = ourLogits.Max(l => l.Max() - l.Min());
            output.WriteLine($"{(trainedTokenizer ? "trained" : "gpt2")} {type}: {steps} greedy tokens (raw argmax broke a character at {ruled}); " +
                             $"equal to our fp32 decoder on the stored weights: " +
                             $"{ours.SequenceEqual(theirs)}, to our {twin} decoder: {inTwin.SequenceEqual(theirs)}; max |Δlogit| {maxDiff:G3} (logit range {range:F1})");
            Assert.Equal(ours, theirs);
            Assert.Equal(inTwin, theirs);
            Assert.True(maxDiff < tolerance * range, $"{type}: max |Δlogit| {maxDiff} against a logit range of {range}");
        }
    }

    /// A copy of the model whose GGUF matrices (token embedding, attention and MLP weights) hold exactly the values
    /// the export of that type stores: encoded as the file encodes them and decoded again.
    internal static LanguageModel AsStored(LanguageModel model, GgufFileType type)
    {
        var copy = LanguageModel.Create(model.Config);
        var sources = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using var noGrad = no_grad();
        foreach (var (name, p) in copy.named_parameters())
        {
            var source = sources[name];
            bool matrix = name is "transformer.wte.weight" or "model.embed_tokens.weight" or "lm_head.weight"
                || (name.StartsWith("transformer.h.") || name.StartsWith("model.layers.")) && name.EndsWith(".weight") && source.dim() == 2;
            // As GgufExport: Q8_0 needs rows of a multiple of 32 values, other matrices fall back to F16.
            var stored = !matrix ? GgufTensorType.F32
                : type.MatrixType == GgufTensorType.Q8_0 && source.shape[^1] % GgufTensorData.Q8Block != 0 ? GgufTensorType.F16 : type.MatrixType;
            var values = source.detach().contiguous().data<float>().ToArray();
            p.copy_(tensor(Decode(stored, GgufTensorData.Encode(stored, values))).view(source.shape));
        }
        copy.eval();
        return copy;
    }

    /// What ggml reads from the bytes: f32 as is, f16 widened, q8_0 as its f16 scale times each int8.
    private static float[] Decode(GgufTensorType type, byte[] bytes) => type switch
    {
        GgufTensorType.F32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(),
        GgufTensorType.F16 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h).ToArray(),
        _ => Enumerable.Range(0, bytes.Length / 34).SelectMany(b =>
        {
            float d = (float)BitConverter.ToHalf(bytes, 34 * b);
            return Enumerable.Range(0, GgufTensorData.Q8Block).Select(j => d * (sbyte)bytes[34 * b + 2 + j]);
        }).ToArray(),
    };

    internal static List<int> OurGreedy(LanguageModel model, TextTokenizer tokenizer, InferenceDtype dtype, List<int> prompt, int steps)
    {
        using var generator = new Generation.Generator(model, tokenizer, dtype);
        return generator.Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = steps, StopAtEndOfText = false })
            .Select(s => s.Tokens[0]).ToList();
    }

    /// Our fp32 decoder's logits (over the tokenizer's ids) after the prompt and after each token of a continuation.
    internal static List<float[]> DecoderLogits(LanguageModel model, List<int> prompt, List<int> continuation, int vocab)
    {
        using var decoder = new Decoder(model, InferenceDtype.Float32);
        var cache = new KvCache(model.Config);
        int row = cache.Add();
        var all = new List<float[]>();
        IReadOnlyList<int> next = prompt;
        foreach (var token in continuation)
        {
            using (var logits = decoder.Step(cache, [row], [next])) all.Add(logits[0].narrow(0, 0, vocab).data<float>().ToArray());
            next = [token];
        }
        return all;
    }

    /// Greedy continuation: each step's logits (over the tokenizer's ids) and the argmax appended, among the tokens
    /// that keep the text valid UTF-8 as our decoder's; also how many steps that rule changed the argmax.
    private static (List<int> Ids, List<float[]> Logits, int Ruled) Greedy(List<int> prompt, int steps, Utf8Constraint utf8, Func<List<int>, float[]> logitsOf)
    {
        var ids = new List<int>(prompt);
        var all = new List<float[]>();
        int state = 0, ruled = 0;
        for (int i = 0; i < steps; i++)
        {
            var logits = logitsOf(ids);
            all.Add(logits);
            int raw = Array.IndexOf(logits, logits.Max());
            var allowed = logits.ToArray();
            utf8.Mask(allowed, state, steps - i);
            int next = Array.IndexOf(allowed, allowed.Max());
            if (next != raw) ruled++;
            ids.Add(next);
            state = utf8.Advance(state, next);
        }
        return (ids.Skip(prompt.Count).ToList(), all, ruled);
    }

    private static float[] OurLogits(LanguageModel model, List<int> ids, int vocab)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0));
        return logits[0, -1].narrow(0, 0, vocab).data<float>().ToArray();
    }

    /// Hugging Face's own GGUF reader (@huggingface/gguf) parses the file: architecture, shape, tokenizer (model,
    /// pre-tokenizer, every token and merge), chat template, and the tensor list with each tensor's type and shape.
    [SkippableTheory]
    [InlineData("q8_0")]
    [InlineData("f16")]
    public void Huggingface_gguf_reads_the_metadata_and_tensors_we_wrote(string dtype)
    {
        NodeCheckers.Require();
        var corpus = dir.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Poem, 20)));
        Assert.Equal(0, Cli.Run("tokenizer", "train", "--input", corpus, "--vocab_size", "300", "--out", dir["tok.tiktoken"]).Code);
        var tok = TextTokenizer.FromFile(dir["tok.tiktoken"]);
        var shape = new GptConfig { NLayer = 2, NHead = 2, NEmbd = 64, BlockSize = 32, VocabSize = GptConfig.PadVocab(tok.VocabSize) };
        using (var model = new GptModel(shape))
            CheckpointStore.Save(dir["ckpt"], model, new CheckpointConfig { Model = shape, Tokenizer = tok.Spec, Train = new TrainConfig(), ChatTemplate = ChatTemplate.Seed },
                new TrainerState(), null);
        var r = Cli.Run("export", "--ckpt", dir["ckpt"], "--format", "gguf", "--out", dir["m.gguf"], "--dtype", dtype);
        Assert.True(r.Code == 0, r.Err);

        var file = NodeCheckers.Run("gguf", dir["m.gguf"]);
        var meta = file.GetProperty("metadata");
        Assert.Equal("gpt2", meta.GetProperty("general.architecture").GetString());
        Assert.Equal(GgufFileType.Parse(dtype).LlamaFileType, meta.GetProperty("general.file_type").GetUInt32());
        Assert.Equal(32, meta.GetProperty("gpt2.context_length").GetInt32());
        Assert.Equal(64, meta.GetProperty("gpt2.embedding_length").GetInt32());
        Assert.Equal(2, meta.GetProperty("gpt2.block_count").GetInt32());
        Assert.Equal("gpt2", meta.GetProperty("tokenizer.ggml.model").GetString());
        Assert.Equal("llama-bpe", meta.GetProperty("tokenizer.ggml.pre").GetString());
        Assert.Equal(ChatTemplateFormats.Jinja(ChatTemplate.Seed), meta.GetProperty("tokenizer.chat_template").GetString());
        var vocab = GgufVocab.From(tok);
        Assert.Equal(vocab.Tokens, meta.GetProperty("tokenizer.ggml.tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(vocab.Merges, meta.GetProperty("tokenizer.ggml.merges").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(tok.EotId, meta.GetProperty("tokenizer.ggml.eos_token_id").GetInt32());
        Assert.False(meta.GetProperty("tokenizer.ggml.add_bos_token").GetBoolean());

        var matrix = (int)GgufFileType.Parse(dtype).MatrixType;
        var expected = new List<(string, long[], int)> { ("token_embd.weight", [64, tok.VocabSize], matrix), ("position_embd.weight", [64, 32], 0) };
        for (int i = 0; i < 2; i++)
            expected.AddRange([($"blk.{i}.attn_norm.weight", [64], 0), ($"blk.{i}.attn_norm.bias", [64], 0), ($"blk.{i}.attn_qkv.weight", [64, 192], matrix),
                ($"blk.{i}.attn_qkv.bias", [192], 0), ($"blk.{i}.attn_output.weight", [64, 64], matrix), ($"blk.{i}.attn_output.bias", [64], 0),
                ($"blk.{i}.ffn_norm.weight", [64], 0), ($"blk.{i}.ffn_norm.bias", [64], 0), ($"blk.{i}.ffn_up.weight", [64, 256], matrix),
                ($"blk.{i}.ffn_up.bias", [256], 0), ($"blk.{i}.ffn_down.weight", [256, 64], matrix), ($"blk.{i}.ffn_down.bias", [64], 0)]);
        expected.AddRange([("output_norm.weight", [64], 0), ("output_norm.bias", [64], 0)]);
        var tensors = file.GetProperty("tensors").EnumerateArray()
            .Select(t => (t.GetProperty("name").GetString()!, t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(), t.GetProperty("dtype").GetInt32())).ToList();
        Assert.Equal(expected.Select(t => $"{t.Item1} [{string.Join(",", t.Item2)}] {t.Item3}"), tensors.Select(t => $"{t.Item1} [{string.Join(",", t.Item2)}] {t.Item3}"));
    }

    [Fact]
    public void A_model_with_biases_gives_llama_cpp_the_same_logits()
    {
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        manual_seed(5);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 16, VocabSize = 50304, Bias = true });
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith(".bias")) p.copy_(randn_like(p) * 0.5); // biases start at zero: make them count
        model.eval();
        var ckpt = dir["biased"];
        CheckpointStore.Save(ckpt, model, new CheckpointConfig { Model = model.Config, Tokenizer = TokenizerSpec.Gpt2, Train = new TrainConfig() }, new TrainerState(), null);
        var gguf = dir["biased.gguf"];
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", gguf, "--dtype", "f32");
        Assert.True(r.Code == 0, r.Err);
        var prompt = new List<int> { 464, 3290, 318, 6016, 13 };
        var ours = OurLogits(model, prompt, 50257);
        using var llama = new LlamaCppModel(gguf, 16);
        var theirs = llama.Feed(prompt);
        double maxDiff = ours.Zip(theirs, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.True(maxDiff < 2e-3 * (ours.Max() - ours.Min()), $"max |Δlogit| {maxDiff}");
    }

    [Fact]
    public void Tokenizer_stats_compare_counts_no_line_that_llama_cpp_tokenizes_differently()
    {
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var corpus = dir.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Poem, 20)));
        var r = Cli.Run("tokenizer", "stats", "--input", corpus, "--compare", "llama.cpp", "--out", dir["gpt2.json"]);
        Assert.True(r.Code == 0, r.Err);
        var gpt2 = System.Text.Json.JsonSerializer.Deserialize<TokenizerComparison>(File.ReadAllText(dir["gpt2.json"]))!;
        Assert.Equal("gpt-2", gpt2.PreTokenizer);
        Assert.Equal(100, gpt2.Lines);
        Assert.Equal(0, gpt2.LinesDiffering);
        Assert.Equal(gpt2.OurIds, gpt2.TheirIds);

        Assert.Equal(0, Cli.Run("tokenizer", "train", "--input", corpus, "--vocab_size", "300", "--out", dir["tok.tiktoken"]).Code);
        r = Cli.Run("tokenizer", "stats", "--input", corpus, "--tokenizer", dir["tok.tiktoken"], "--compare", "llama.cpp", "--out", dir["trained.json"]);
        Assert.True(r.Code == 0, r.Err);
        var trained = System.Text.Json.JsonSerializer.Deserialize<TokenizerComparison>(File.ReadAllText(dir["trained.json"]))!;
        Assert.Equal("llama-bpe", trained.PreTokenizer);
        Assert.Equal(100, trained.Lines);
        Assert.Equal(0, trained.LinesDiffering);
        Assert.Equal(trained.OurIds, trained.TheirIds);
    }

    [Fact]
    public void The_vocabulary_spells_tokens_as_gpt2_and_recovers_its_merges()
    {
        var vocab = GgufVocab.From(TextTokenizer.Load(TokenizerSpec.Gpt2));
        Assert.Equal(50257, vocab.Tokens.Count);
        Assert.Equal("Ġthe", vocab.Tokens[262]);
        Assert.Equal("<|endoftext|>", vocab.Tokens[50256]);
        Assert.Equal(3, vocab.TokenTypes[50256]);
        // GPT-2's merges.txt begins "Ġ t", "Ġ a", "h e", "i n", "r e"; it has 50000 merges (256 byte tokens, 1 special).
        Assert.Equal(["Ġ t", "Ġ a", "h e", "i n", "r e"], vocab.Merges.Take(5));
        Assert.Equal(50000, vocab.Merges.Count);
    }

    [Fact]
    public void Refuses_an_existing_output_without_force_and_a_missing_checkpoint()
    {
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var ckpt = TinyCheckpoint.Create(dir["ckpt"], ChatTemplate.Seed);
        var outPath = dir.Write("out.gguf", "keep me");
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", outPath);
        Assert.Equal(1, r.Code);
        Assert.Contains("already exists (pass --force", r.Err);
        Assert.Equal("keep me", File.ReadAllText(outPath));

        r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", outPath, "--force", "--dtype", "q8_0");
        Assert.True(r.Code == 0, r.Err);
        using (var llama = new LlamaCppModel(outPath, 32))
        {
            Assert.Equal(50257, llama.VocabSize);
            Assert.Contains("问：", llama.Metadata["tokenizer.chat_template"]);
        }
        Assert.Empty(Directory.GetFiles(dir.Path, "out.gguf.tmp-*"));

        r = Cli.Run("export", "--ckpt", dir["nothing"], "--format", "gguf", "--out", dir["x.gguf"]);
        Assert.Equal(1, r.Code);
        Assert.Contains("no such checkpoint", r.Err);
        r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", dir["x.gguf"], "--dtype", "q4");
        Assert.Equal(1, r.Code);
        Assert.Contains("--dtype must be one of f32, f16, q8_0", r.Err);
        Assert.False(File.Exists(dir["x.gguf"]));
    }
}
