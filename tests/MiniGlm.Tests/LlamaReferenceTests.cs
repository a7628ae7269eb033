using MiniGlm.Checkpoints;
using MiniGlm.Decoding;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Our llama forward against a plain PyTorch one (transformers' LlamaForCausalLM/Qwen2ForCausalLM arithmetic written
/// out: rotate_half, repeat_kv, RMSNorm) on the same weights, read from our HF export with transformers' exact
/// tensor names; and our decoder's greedy sequence against PyTorch's. An outside check (python3-torch).
public class LlamaReferenceTests
{
    private const string Reference = """
        import sys, math, json, struct, torch, torch.nn.functional as F
        d, ids, out = sys.argv[1], [int(t) for t in sys.argv[2].split(',')], sys.argv[3]
        a = json.load(open(d + '/config.json'))
        raw = open(d + '/model.safetensors', 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        assert header.pop('__metadata__') == {'format': 'pt'}
        sd = {k: torch.frombuffer(bytearray(raw[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]]), dtype=torch.float32).view(v['shape'])
              for k, v in header.items()}
        L, C, H, KV, I = a['num_hidden_layers'], a['hidden_size'], a['num_attention_heads'], a['num_key_value_heads'], a['intermediate_size']
        D, eps, theta = C // H, a['rms_norm_eps'], a['rope_theta']
        bias = a['model_type'] == 'qwen2' or a.get('attention_bias', False)
        # the tensors transformers' save_pretrained writes for this config, and their shapes
        want = {'model.embed_tokens.weight': [a['vocab_size'], C], 'model.norm.weight': [C]}
        if not a['tie_word_embeddings']: want['lm_head.weight'] = [a['vocab_size'], C]
        for i in range(L):
            p = f'model.layers.{i}.'
            want.update({p + 'input_layernorm.weight': [C], p + 'post_attention_layernorm.weight': [C],
                         p + 'self_attn.q_proj.weight': [H * D, C], p + 'self_attn.k_proj.weight': [KV * D, C],
                         p + 'self_attn.v_proj.weight': [KV * D, C], p + 'self_attn.o_proj.weight': [C, H * D],
                         p + 'mlp.gate_proj.weight': [I, C], p + 'mlp.up_proj.weight': [I, C], p + 'mlp.down_proj.weight': [C, I]})
            if bias: want.update({p + 'self_attn.q_proj.bias': [H * D], p + 'self_attn.k_proj.bias': [KV * D], p + 'self_attn.v_proj.bias': [KV * D]})
        assert {k: list(v.shape) for k, v in sd.items()} == want, sorted(set(sd) ^ set(want))
        head = sd['model.embed_tokens.weight'] if a['tie_word_embeddings'] else sd['lm_head.weight']
        def rms(x, w): return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
        def lin(x, p): return F.linear(x, sd[p + '.weight'], sd.get(p + '.bias'))
        def rotate_half(x): return torch.cat((-x[..., D // 2:], x[..., :D // 2]), dim=-1)
        def repeat_kv(x): return x[:, :, None].expand(1, KV, H // KV, x.shape[2], D).reshape(1, H, x.shape[2], D)
        def forward(ids):
            T = len(ids)
            inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
            emb = torch.cat([torch.arange(T).float()[:, None] * inv_freq[None, :]] * 2, dim=-1)
            cos, sin = emb.cos(), emb.sin()
            x = sd['model.embed_tokens.weight'][torch.tensor([ids])]
            mask = torch.ones(T, T, dtype=torch.bool).tril()
            for i in range(L):
                p = f'model.layers.{i}.'
                h = rms(x, sd[p + 'input_layernorm.weight'])
                q = lin(h, p + 'self_attn.q_proj').view(1, T, H, D).transpose(1, 2)
                k = lin(h, p + 'self_attn.k_proj').view(1, T, KV, D).transpose(1, 2)
                v = lin(h, p + 'self_attn.v_proj').view(1, T, KV, D).transpose(1, 2)
                q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
                att = (q @ repeat_kv(k).transpose(-2, -1) / math.sqrt(D)).masked_fill(~mask, float('-inf')).softmax(-1)
                x = x + lin((att @ repeat_kv(v)).transpose(1, 2).reshape(1, T, C), p + 'self_attn.o_proj')
                h = rms(x, sd[p + 'post_attention_layernorm.weight'])
                x = x + lin(F.silu(lin(h, p + 'mlp.gate_proj')) * lin(h, p + 'mlp.up_proj'), p + 'mlp.down_proj')
            return F.linear(rms(x, sd['model.norm.weight']), head)[0]
        with torch.no_grad():
            forward(ids).numpy().tofile(out)
            seq = list(ids)
            while len(seq) < a['max_position_embeddings']: seq.append(int(forward(seq)[-1].argmax()))
        print(','.join(map(str, seq[len(ids):])))
        """;

    private static readonly int[] Prompt = [464, 3290, 318, 257, 1332, 13, 50256, 11];

    public static IEnumerable<object[]> Shapes =>
    [
        // Llama / SmolLM: grouped-query attention, no biases, an untied head
        [new GptConfig { Arch = "llama", NLayer = 2, NHead = 4, NKvHead = 2, NEmbd = 32, IntermediateSize = 48, BlockSize = 24, VocabSize = 50304,
            RopeTheta = 10000, NormEps = 1e-5, UntiedHead = true }],
        // Qwen2: q/k/v biases, one key/value head for four query heads, the head tied, a large rope_theta
        [new GptConfig { Arch = "llama", NLayer = 2, NHead = 4, NKvHead = 1, NEmbd = 32, IntermediateSize = 40, BlockSize = 24, VocabSize = 50304,
            RopeTheta = 1e6, NormEps = 1e-6, QkvBias = true }],
    ];

    /// A tiny random model of the shape, with every weight far from its init (norms too), saved as a checkpoint.
    internal static string RandomCheckpoint(string dir, GptConfig shape, int seed = 5)
    {
        manual_seed(seed);
        using var model = LanguageModel.Create(shape);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("norm")) p.copy_(1 + 0.1 * randn_like(p)); else p.copy_(0.15 * randn_like(p));
        var config = new CheckpointConfig { Model = model.Config, Tokenizer = TokenizerSpec.Gpt2, Train = new TrainConfig().WithShape(shape) };
        CheckpointStore.Save(dir, model, config, new TrainerState { Iter = 1 }, null);
        return dir;
    }

    [SkippableTheory]
    [MemberData(nameof(Shapes))]
    public void Our_forward_and_greedy_decoding_equal_PyTorch_on_our_HF_export(GptConfig shape)
    {
        OutsideCheck.Require("python3-torch", ExternalProcess.Python("-c", "import torch").Code == 0,
            "no Python with torch (/usr/bin/python3 -c 'import torch' fails); apt-get install python3-torch libopenblas0-pthread");
        using var tmp = new TempDir();
        var ckpt = RandomCheckpoint(tmp["ckpt"], shape);
        var export = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        Assert.True(export.Code == 0, export.Err);
        var (code, output, error) = ExternalProcess.Python(tmp.Write("reference.py", Reference), tmp["hf"], string.Join(",", Prompt), tmp["logits.bin"]);
        Assert.True(code == 0, error);
        var theirGreedy = output.Trim().Split(',').Select(int.Parse).ToArray();
        var bytes = File.ReadAllBytes(tmp["logits.bin"]);
        var theirs = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, theirs, 0, bytes.Length);

        var (model, _) = CheckpointStore.LoadModel(ckpt, dropout: 0);
        using (model)
        {
            model.eval();
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                var ours = model.call(tensor(Prompt.Select(i => (long)i).ToArray()).view(1, -1))[0];
                var diff = (ours - tensor(theirs).view(ours.shape)).abs().max().item<float>();
                Assert.True(diff < 1e-4f, $"logits differ from PyTorch's by {diff}");
            }
            foreach (var dtype in new[] { InferenceDtype.Float32 })
            {
                using var decoder = new Decoder(model, dtype);
                Assert.Equal(theirGreedy, Greedy(decoder, Prompt, shape.BlockSize));
            }
        }
    }

    /// The decoder's argmax (over the first vocab ids) continuation until the context is full, one token per step after the prompt.
    internal static int[] Greedy(Decoder decoder, int[] prompt, int blockSize, int? vocab = null)
    {
        var cache = new KvCache(decoder.Config);
        int row = cache.Add();
        var seq = new List<int>();
        IReadOnlyList<int> next = prompt;
        while (prompt.Length + seq.Count < blockSize)
        {
            using var logits = decoder.Step(cache, [row], [next]);
            int id = (int)logits[0, ..(vocab ?? decoder.Config.VocabSize)].argmax().item<long>();
            seq.Add(id);
            next = [id];
        }
        return [.. seq];
    }
}

/// llama.cpp runs our GGUF export of a llama (llama.cpp's `llama` arch, q and k rows interleaved for its rotation)
/// and of a Qwen2-shaped one (its `qwen2` arch): its greedy sequence equals our decoder's, whole context.
public class LlamaGgufTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(LlamaReferenceTests.Shapes), MemberType = typeof(LlamaReferenceTests))]
    public void Llama_cpp_greedy_equals_ours_on_our_gguf_export(GptConfig shape)
    {
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        using var tmp = new TempDir();
        var ckpt = LlamaReferenceTests.RandomCheckpoint(tmp["ckpt"], shape);
        var gguf = tmp["model.gguf"];
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", gguf, "--dtype", "f32");
        Assert.True(r.Code == 0, r.Err);
        var vocab = TextTokenizer.Load(TokenizerSpec.Gpt2).VocabSize;
        using var llama = new MiniGlm.Cli.LlamaCpp.LlamaCppModel(gguf, shape.BlockSize);
        Assert.Equal(shape.QkvBias ? "qwen2" : "llama", llama.Metadata["general.architecture"]);
        var prompt = new List<int> { 464, 3290, 318, 257, 1332, 13, 50256, 11 };
        var theirs = new List<int>();
        var logits = llama.Feed(prompt);
        while (prompt.Count + theirs.Count < shape.BlockSize)
        {
            theirs.Add(ArgMax(logits.AsSpan(0, vocab)));
            if (prompt.Count + theirs.Count < shape.BlockSize) logits = llama.Feed([theirs[^1]]);
        }
        var (model, _) = CheckpointStore.LoadModel(ckpt, dropout: 0);
        using (model)
        {
            using var decoder = new Decoder(model, InferenceDtype.Float32);
            var ours = LlamaReferenceTests.Greedy(decoder, [.. prompt], shape.BlockSize, vocab);
            output.WriteLine($"{llama.Metadata["general.architecture"]}: ours {string.Join(",", ours)}; llama.cpp {string.Join(",", theirs)}");
            Assert.Equal(ours, theirs);
        }
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
