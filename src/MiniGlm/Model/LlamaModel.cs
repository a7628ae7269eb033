using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// The Llama decoder as today's small open models have it (Llama, Qwen2, SmolLM; nanochat's gpt.py): rotary
/// positions instead of a position table, RMSNorm, a SwiGLU MLP, grouped-query attention (n_kv_head key/value heads
/// shared by groups of query heads), no biases but Qwen2's on q/k/v, and a head tied to the embedding or not.
/// Tensor names are transformers' LlamaForCausalLM/Qwen2ForCausalLM names (`model.embed_tokens.weight`,
/// `model.layers.0.self_attn.q_proj.weight`, …, `lm_head.weight` when untied), so Hugging Face weights load as they are.
public sealed class LlamaModel : LanguageModel
{
    private readonly Decoder model;
    private readonly Linear? lm_head;

    /// Build outside any dispose scope: a scope would dispose the parameters with it.
    public LlamaModel(GptConfig config) : base(nameof(LlamaModel), config)
    {
        model = new Decoder(config);
        lm_head = config.UntiedHead ? nn.Linear(config.NEmbd, config.VocabSize, hasBias: false) : null;
        RegisterComponents();
        InitWeights();
    }

    public override Tensor Forward(Tensor idx, Tensor? mask, bool lastOnly = false, Tensor? positions = null)
    {
        using var scope = NewDisposeScope();
        CheckLength(idx, Config);
        var pos = positions ?? arange(0, idx.shape[1], dtype: int64, device: idx.device);
        var (cos, sin) = Rotary(pos, Config);
        var x = model.embed_tokens.call(idx);
        foreach (var layer in model.layers) x = layer.Forward(x, cos, sin, mask);
        if (lastOnly) x = x[TensorIndex.Colon, TensorIndex.Slice(-1)];
        x = model.norm.call(x);
        return Autocast.Linear(x, lm_head?.weight ?? model.embed_tokens.weight!).MoveToOuterDisposeScope();
    }

    public override long ParameterCount(bool includePositionEmbeddings = false) => parameters().Sum(p => p.numel());

    /// cos and sin of each position's angles, (T, head_size) or (B, 1, T, head_size): angle i of position p is
    /// p·θ^(-2i/head_size), and the two halves of a head share them (transformers' rotate_half layout).
    public static (Tensor Cos, Tensor Sin) Rotary(Tensor positions, GptConfig c)
    {
        using var scope = NewDisposeScope();
        int hs = c.HeadSize;
        var invFreq = 1.0 / pow(c.RopeBase, arange(0, hs, 2, dtype: int64, device: positions.device).to(float32) / hs);
        var freqs = positions.to(float32).unsqueeze(-1) * invFreq;
        var emb = cat([freqs, freqs], -1);
        if (positions.dim() == 2) emb = emb.unsqueeze(1);
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    private static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = cat([-x[TensorIndex.Ellipsis, TensorIndex.Slice(half)], x[TensorIndex.Ellipsis, TensorIndex.Slice(0, half)]], -1);
        return x * cos + rotated * sin;
    }

    private void InitWeights()
    {
        using var _ = no_grad();
        double residStd = 0.02 / Math.Sqrt(2.0 * Config.NLayer);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias")) nn.init.zeros_(p);
            else if (name.EndsWith("norm.weight")) nn.init.ones_(p);
            else nn.init.normal_(p, 0.0, name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") ? residStd : 0.02);
        }
    }

    /// x / rms(x) · weight, in fp32 (the residual stream is fp32 here).
    private sealed class RmsNorm : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;
        private readonly double eps;

        public RmsNorm(GptConfig c) : base(nameof(RmsNorm))
        {
            weight = new Parameter(ones(c.NEmbd));
            eps = c.Eps;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            return (x * rsqrt(x.pow(2).mean([-1], keepdim: true) + eps) * weight).MoveToOuterDisposeScope();
        }
    }

    private sealed class Attention : nn.Module
    {
        private readonly Linear q_proj, k_proj, v_proj, o_proj;
        private readonly Dropout resid_dropout;
        private readonly int nHead, nKvHead, headSize;
        private readonly double attnDropout;

        public Attention(GptConfig c) : base(nameof(Attention))
        {
            (nHead, nKvHead, headSize, attnDropout) = (c.NHead, c.KvHeads, c.HeadSize, c.Dropout);
            q_proj = nn.Linear(c.NEmbd, nHead * headSize, hasBias: c.QkvBias);
            k_proj = nn.Linear(c.NEmbd, nKvHead * headSize, hasBias: c.QkvBias);
            v_proj = nn.Linear(c.NEmbd, nKvHead * headSize, hasBias: c.QkvBias);
            o_proj = nn.Linear(nHead * headSize, c.NEmbd, hasBias: false);
            resid_dropout = nn.Dropout(c.Dropout);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask)
        {
            using var scope = NewDisposeScope();
            long b = x.shape[0], t = x.shape[1];
            var q = Rotate(Autocast.Linear(q_proj, x).view(b, t, nHead, headSize).transpose(1, 2), cos, sin);
            var k = Rotate(Autocast.Linear(k_proj, x).view(b, t, nKvHead, headSize).transpose(1, 2), cos, sin);
            var v = Autocast.Linear(v_proj, x).view(b, t, nKvHead, headSize).transpose(1, 2);
            if (nKvHead < nHead) // each key/value head serves nHead/nKvHead consecutive query heads
            {
                k = k.repeat_interleave(nHead / nKvHead, 1);
                v = v.repeat_interleave(nHead / nKvHead, 1);
            }
            double p = training ? attnDropout : 0.0;
            var y = nn.functional.scaled_dot_product_attention(q.to(v.dtype), k.to(v.dtype), v, mask, p, mask is null);
            y = y.transpose(1, 2).contiguous().view(b, t, nHead * headSize);
            return resid_dropout.call(Autocast.Linear(o_proj, y)).MoveToOuterDisposeScope();
        }
    }

    /// down(silu(gate(x)) · up(x)).
    private sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear gate_proj, up_proj, down_proj;
        private readonly Dropout dropout;

        public Mlp(GptConfig c) : base(nameof(Mlp))
        {
            gate_proj = nn.Linear(c.NEmbd, c.MlpWidth, hasBias: false);
            up_proj = nn.Linear(c.NEmbd, c.MlpWidth, hasBias: false);
            down_proj = nn.Linear(c.MlpWidth, c.NEmbd, hasBias: false);
            dropout = nn.Dropout(c.Dropout);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = nn.functional.silu(Autocast.Linear(gate_proj, x)) * Autocast.Linear(up_proj, x);
            return dropout.call(Autocast.Linear(down_proj, h)).MoveToOuterDisposeScope();
        }
    }

    /// x + attn(norm(x)), then x + mlp(norm(x)).
    private sealed class Layer : nn.Module
    {
        private readonly RmsNorm input_layernorm, post_attention_layernorm;
        private readonly Attention self_attn;
        private readonly Mlp mlp;

        public Layer(GptConfig c) : base(nameof(Layer))
        {
            input_layernorm = new RmsNorm(c);
            self_attn = new Attention(c);
            post_attention_layernorm = new RmsNorm(c);
            mlp = new Mlp(c);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask)
        {
            using var scope = NewDisposeScope();
            var h = x + self_attn.Forward(input_layernorm.call(x), cos, sin, mask);
            return (h + mlp.call(post_attention_layernorm.call(h))).MoveToOuterDisposeScope();
        }
    }

    private sealed class Decoder : nn.Module
    {
        public readonly Embedding embed_tokens;
        public readonly ModuleList<Layer> layers;
        public readonly RmsNorm norm;

        public Decoder(GptConfig c) : base("model")
        {
            embed_tokens = nn.Embedding(c.VocabSize, c.NEmbd);
            layers = nn.ModuleList(Enumerable.Range(0, c.NLayer).Select(_ => new Layer(c)).ToArray());
            norm = new RmsNorm(c);
            RegisterComponents();
        }
    }
}
