using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// The MiniGLM/nanoGPT GPT-2 decoder. Tensor names follow nanoGPT's state dict (`transformer.wte.weight`,
/// `transformer.h.0.attn.c_attn.weight`, …) so weights travel to and from PyTorch. The LM head is the token
/// embedding itself (one parameter, counted and updated once), so there is no `lm_head.weight` of its own.
public sealed class GptModel : nn.Module<Tensor, Tensor>
{
    public const double LayerNormEps = 1e-5;

    private readonly Transformer transformer;
    public GptConfig Config { get; }

    /// Build outside any dispose scope: a scope would dispose the parameters with it.
    public GptModel(GptConfig config) : base(nameof(GptModel))
    {
        config.Validate();
        Config = config;
        transformer = new Transformer(config);
        RegisterComponents();
        InitWeights();
    }

    internal static LayerNorm LayerNorm(GptConfig c) => nn.LayerNorm(c.NEmbd, LayerNormEps, bias: c.Bias);

    /// Logits for every position: (B, T) token ids → (B, T, vocab).
    public override Tensor forward(Tensor idx) => Forward(idx, null);

    /// <param name="mask">Optional bool attention mask (True = attend), (B, 1, T, T) or (T, T); null = causal.</param>
    /// <param name="lastOnly">Logits of the last position only, (B, 1, vocab): all that sampling needs, and
    /// the LM head over every position is a third of the work.</param>
    /// <param name="positions">Optional (B, T) position ids, e.g. restarting at each document of a packed SFT row
    /// so an example sees the positions it would have alone; null = 0, 1, 2, ….</param>
    public Tensor Forward(Tensor idx, Tensor? mask, bool lastOnly = false, Tensor? positions = null)
    {
        using var scope = NewDisposeScope();
        long t = idx.shape[1];
        if (t > Config.BlockSize)
            throw new ArgumentException($"cannot forward {t} positions, block_size is only {Config.BlockSize}");
        var pos = positions ?? arange(0, t, dtype: int64, device: idx.device);
        var x = transformer.drop.call(transformer.wte.call(idx) + transformer.wpe.call(pos));
        foreach (var block in transformer.h) x = block.Forward(x, mask);
        if (lastOnly) x = x[TensorIndex.Colon, TensorIndex.Slice(-1)];
        x = transformer.ln_f.call(x);
        return Autocast.Linear(x, transformer.wte.weight!).MoveToOuterDisposeScope();
    }

    /// Mean cross-entropy of next-token predictions; with a mask, Σ(CE·mask)/Σmask (an all-zero mask gives 0).
    /// Computed in fp32 whatever the logits' dtype: softmax over a large vocabulary needs its precision.
    public static Tensor Loss(Tensor logits, Tensor targets, Tensor? lossMask = null)
    {
        using var scope = NewDisposeScope();
        var flat = logits.view(-1, logits.shape[^1]).to(ScalarType.Float32);
        if (lossMask is null)
            return nn.functional.cross_entropy(flat, targets.view(-1), ignore_index: -1).MoveToOuterDisposeScope();
        var ce = nn.functional.cross_entropy(flat, targets.view(-1), ignore_index: -1, reduction: nn.Reduction.None);
        var m = lossMask.view(-1).to(ce.dtype);
        return ((ce * m).sum() / m.sum().clamp_min(1.0)).MoveToOuterDisposeScope();
    }

    /// Parameter count as nanoGPT prints it: position embeddings excluded, the tied head counted once.
    public long ParameterCount(bool includePositionEmbeddings = false)
    {
        long n = parameters().Sum(p => p.numel());
        return includePositionEmbeddings ? n : n - transformer.wpe.weight!.numel();
    }

    /// nanoGPT's FLOPs per token for a forward + backward pass (PaLM appendix B): 6N + 12·L·H·Q·T.
    public double FlopsPerToken()
    {
        var c = Config;
        return 6.0 * ParameterCount() + 12.0 * c.NLayer * c.NHead * c.HeadSize * c.BlockSize;
    }

    private void InitWeights()
    {
        using var _ = no_grad();
        double residStd = 0.02 / Math.Sqrt(2.0 * Config.NLayer);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias")) nn.init.zeros_(p);
            else if (name.Contains(".ln_") || name.StartsWith("transformer.ln_f")) nn.init.ones_(p);
            else nn.init.normal_(p, 0.0, name.EndsWith("c_proj.weight") ? residStd : 0.02);
        }
    }

    private sealed class Transformer : nn.Module
    {
        public readonly Embedding wte, wpe;
        public readonly Dropout drop;
        public readonly ModuleList<Block> h;
        public readonly LayerNorm ln_f;

        public Transformer(GptConfig c) : base("transformer")
        {
            wte = nn.Embedding(c.VocabSize, c.NEmbd);
            wpe = nn.Embedding(c.BlockSize, c.NEmbd);
            drop = nn.Dropout(c.Dropout);
            h = nn.ModuleList(Enumerable.Range(0, c.NLayer).Select(_ => new Block(c)).ToArray());
            ln_f = GptModel.LayerNorm(c);
            RegisterComponents();
        }
    }
}
