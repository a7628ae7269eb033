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
    private readonly RowWeight lmHeadRow = new();
    private bool int8;
    private Int8Decoder? int8Decoder;
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
    public override Tensor forward(Tensor idx) => Forward(idx, null, null);

    /// <param name="mask">Optional bool attention mask (True = attend), (B, 1, T, S) or (T, S); null = causal.</param>
    /// <param name="cache">Optional KV cache; positions continue from what it holds.</param>
    /// <param name="lastOnly">Logits of the last position only, (B, 1, vocab): all that generation needs, and
    /// the LM head over every position is a third of a prefill's work.</param>
    /// <param name="positions">Optional (B, T) position ids, e.g. restarting at each document of a packed SFT row
    /// so an example sees the positions it would have alone; null = consecutive from the cache's length.</param>
    public Tensor Forward(Tensor idx, Tensor? mask, KvCache? cache, bool lastOnly = false, Tensor? positions = null)
    {
        using var scope = NewDisposeScope();
        long t = idx.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > Config.BlockSize)
            throw new ArgumentException($"cannot forward {start + t} positions, block_size is only {Config.BlockSize}");
        if (int8 && mask is null && positions is null && IsDecodeStep(this, t, cache))
            return Int8Decoder().Step(idx, cache!).MoveToOuterDisposeScope();
        var pos = positions ?? arange(start, start + t, dtype: int64, device: idx.device);
        var x = transformer.drop.call(transformer.wte.call(idx) + transformer.wpe.call(pos));
        for (int i = 0; i < transformer.h.Count; i++)
            x = transformer.h[i].Forward(x, mask, cache?[i]);
        if (lastOnly) x = x[TensorIndex.Colon, TensorIndex.Slice(-1)];
        x = transformer.ln_f.call(x);
        var head = IsDecodeStep(this, x.shape[1], cache) ? lmHeadRow.Linear(x, transformer.wte.weight!, null)
            : Autocast.Linear(x, transformer.wte.weight!);
        return head.MoveToOuterDisposeScope();
    }

    /// The weight format used for inference (see <see cref="InferenceDtype"/>). Int8 needs AVX2 and FMA; without
    /// them the model decodes from fp32, and <see cref="InferenceDtype"/> says so.
    public void SetInferenceDtype(InferenceDtype dtype)
    {
        this.to(dtype == Model.InferenceDtype.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32);
        int8 = dtype == Model.InferenceDtype.Int8 && Int8Matrix.IsSupported;
        DropInt8Decoder();
    }

    public InferenceDtype InferenceDtype =>
        int8 ? Model.InferenceDtype.Int8
        : parameters().First().dtype == ScalarType.BFloat16 ? Model.InferenceDtype.BFloat16 : Model.InferenceDtype.Float32;

    /// The int8 weight copies, built on the first int8 decode step and rebuilt if the weights were replaced.
    private Int8Decoder Int8Decoder()
    {
        if (int8Decoder is not null && !int8Decoder.IsCopyOf(transformer.wte.weight!)) DropInt8Decoder();
        return int8Decoder ??= new Int8Decoder(this);
    }

    private void DropInt8Decoder()
    {
        int8Decoder?.Dispose();
        int8Decoder = null;
    }

    /// A one-row step of cached inference: the only case that uses the decode weight copies (<see cref="RowWeight"/>),
    /// so training, evaluation and prefill run exactly as before.
    internal static bool IsDecodeStep(nn.Module module, long t, object? cache) =>
        t == 1 && cache is not null && !module.training && !is_grad_enabled();

    public override void train(bool on = true)
    {
        base.train(on);
        if (on) { lmHeadRow.Dispose(); DropInt8Decoder(); }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { lmHeadRow.Dispose(); DropInt8Decoder(); }
        base.Dispose(disposing);
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
