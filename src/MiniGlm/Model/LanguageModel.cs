using static TorchSharp.torch;

namespace MiniGlm.Model;

/// What training, evaluation, sampling and the checkpoints need of a model, whatever its arch: logits from token
/// ids, the loss, the parameter count. <see cref="Create"/> is the one place a model is built from its config.
public abstract class LanguageModel : nn.Module<Tensor, Tensor>
{
    public GptConfig Config { get; }

    protected LanguageModel(string name, GptConfig config) : base(name)
    {
        config.Validate();
        Config = config;
    }

    /// Builds the model its config describes, with fresh weights (call outside any dispose scope).
    public static LanguageModel Create(GptConfig config) => config.Arch switch
    {
        GptConfig.Llama => new LlamaModel(config),
        _ => new GptModel(config),
    };

    /// Logits for every position: (B, T) token ids → (B, T, vocab).
    public override Tensor forward(Tensor idx) => Forward(idx, null);

    /// <param name="mask">Optional bool attention mask (True = attend), (B, 1, T, T) or (T, T); null = causal.</param>
    /// <param name="lastOnly">Logits of the last position only, (B, 1, vocab): all that sampling needs, and
    /// the LM head over every position is a third of the work.</param>
    /// <param name="positions">Optional (B, T) position ids, e.g. restarting at each document of a packed SFT row
    /// so an example sees the positions it would have alone; null = 0, 1, 2, ….</param>
    public abstract Tensor Forward(Tensor idx, Tensor? mask, bool lastOnly = false, Tensor? positions = null);

    /// Parameter count as nanoGPT prints it: position embeddings excluded, the tied head counted once.
    public abstract long ParameterCount(bool includePositionEmbeddings = false);

    /// nanoGPT's FLOPs per token for a forward + backward pass (PaLM appendix B): 6N + 12·L·H·Q·T.
    public double FlopsPerToken()
    {
        var c = Config;
        return 6.0 * ParameterCount() + 12.0 * c.NLayer * c.NHead * c.HeadSize * c.BlockSize;
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

    protected static void CheckLength(Tensor idx, GptConfig config)
    {
        long t = idx.shape[1];
        if (t > config.BlockSize)
            throw new ArgumentException($"cannot forward {t} positions, block_size is only {config.BlockSize}");
    }
}
