using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// One pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
public sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalSelfAttention attn;
    private readonly Mlp mlp;

    internal Block(GptConfig config) : base(nameof(Block))
    {
        ln_1 = GptModel.LayerNorm(config);
        attn = new CausalSelfAttention(config);
        ln_2 = GptModel.LayerNorm(config);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.Forward(ln_1.call(x), mask);
        return (h + mlp.call(ln_2.call(h))).MoveToOuterDisposeScope();
    }
}
