using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// Multi-head causal self-attention through SDPA (no materialised T×T attention matrix in the causal case).
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear c_attn, c_proj;
    private readonly Dropout resid_dropout;
    private readonly int nHead;
    private readonly double attnDropout;

    internal CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        c_attn = nn.Linear(config.NEmbd, 3 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(config.NEmbd, config.NEmbd, hasBias: config.Bias);
        resid_dropout = nn.Dropout(config.Dropout);
        nHead = config.NHead;
        attnDropout = config.Dropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <param name="mask">Optional bool mask (True = attend), broadcastable to (B, heads, T, T); null means causal.</param>
    public Tensor Forward(Tensor x, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        var qkv = Autocast.Linear(c_attn, x).split(c, 2);
        var q = qkv[0].view(b, t, nHead, c / nHead).transpose(1, 2);
        var k = qkv[1].view(b, t, nHead, c / nHead).transpose(1, 2);
        var v = qkv[2].view(b, t, nHead, c / nHead).transpose(1, 2);
        double p = training ? attnDropout : 0.0;
        // Positional arguments: the flag is spelled `is_casual` in TorchSharp 0.107 and may be renamed.
        var y = nn.functional.scaled_dot_product_attention(q, k, v, mask, p, mask is null);
        y = y.transpose(1, 2).contiguous().view(b, t, c);
        return resid_dropout.call(Autocast.Linear(c_proj, y)).MoveToOuterDisposeScope();
    }
}
