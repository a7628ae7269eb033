using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// The position-wise feed-forward network: n_embd → 4·n_embd → GELU (exact, as nanoGPT) → n_embd.
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;
    private readonly Dropout dropout;

    internal Mlp(GptConfig config) : base(nameof(Mlp))
    {
        c_fc = nn.Linear(config.NEmbd, 4 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(4 * config.NEmbd, config.NEmbd, hasBias: config.Bias);
        dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = Autocast.Linear(c_fc, x);
        using var g = nn.functional.gelu(h);
        using var p = Autocast.Linear(c_proj, g);
        return dropout.call(p);
    }
}
