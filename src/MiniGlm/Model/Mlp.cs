using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// The position-wise feed-forward network: n_embd → 4·n_embd → GELU (exact, as nanoGPT) → n_embd.
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;
    private readonly Dropout dropout;
    private readonly RowWeight c_fcRow, c_projRow;

    internal Mlp(GptConfig config) : base(nameof(Mlp))
    {
        c_fcRow = new RowWeight();
        c_projRow = new RowWeight();
        c_fc = nn.Linear(config.NEmbd, 4 * config.NEmbd, hasBias: config.Bias);
        c_proj = nn.Linear(4 * config.NEmbd, config.NEmbd, hasBias: config.Bias);
        dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Forward(x, false);

    /// <param name="row">A one-row decode step (see <see cref="GptModel.IsDecodeStep"/>).</param>
    public Tensor Forward(Tensor x, bool row)
    {
        using var h = row ? c_fcRow.Linear(x, c_fc) : Autocast.Linear(c_fc, x);
        using var g = nn.functional.gelu(h);
        using var p = row ? c_projRow.Linear(g, c_proj) : Autocast.Linear(c_proj, g);
        return dropout.call(p);
    }

    public override void train(bool on = true)
    {
        base.train(on);
        if (on) { c_fcRow.Dispose(); c_projRow.Dispose(); }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { c_fcRow.Dispose(); c_projRow.Dispose(); }
        base.Dispose(disposing);
    }
}
