using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// The MiniGLM/nanoGPT GPT-2 decoder. Tensor names follow nanoGPT's state dict (`transformer.wte.weight`,
/// `transformer.h.0.attn.c_attn.weight`, …) so weights travel to and from PyTorch. The LM head is the token
/// embedding itself (one parameter, counted and updated once), so there is no `lm_head.weight` of its own.
public sealed class GptModel : LanguageModel
{
    public const double LayerNormEps = 1e-5;

    private readonly Transformer transformer;

    /// Build outside any dispose scope: a scope would dispose the parameters with it.
    public GptModel(GptConfig config) : base(nameof(GptModel), config)
    {
        transformer = new Transformer(config);
        RegisterComponents();
        InitWeights();
    }

    internal static LayerNorm LayerNorm(GptConfig c) => nn.LayerNorm(c.NEmbd, LayerNormEps, bias: c.Bias);

    public override Tensor Forward(Tensor idx, Tensor? mask, bool lastOnly = false, Tensor? positions = null)
    {
        using var scope = NewDisposeScope();
        CheckLength(idx, Config);
        long t = idx.shape[1];
        var pos = positions ?? arange(0, t, dtype: int64, device: idx.device);
        var x = transformer.drop.call(transformer.wte.call(idx) + transformer.wpe.call(pos));
        foreach (var block in transformer.h) x = block.Forward(x, mask);
        if (lastOnly) x = x[TensorIndex.Colon, TensorIndex.Slice(-1)];
        x = transformer.ln_f.call(x);
        return Autocast.Linear(x, transformer.wte.weight!).MoveToOuterDisposeScope();
    }

    /// Parameter count as nanoGPT prints it: position embeddings excluded, the tied head counted once.
    public override long ParameterCount(bool includePositionEmbeddings = false)
    {
        long n = parameters().Sum(p => p.numel());
        return includePositionEmbeddings ? n : n - transformer.wpe.weight!.numel();
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
