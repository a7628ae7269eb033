using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Model;

/// What torch.autocast does for nanoGPT's bf16 training, which TorchSharp lacks: inside an <see cref="Enable"/>
/// scope on this thread, the model's matrix products run in the low-precision dtype. Input and weight are cast
/// on the way in; the weight's cast is differentiable, so the fp32 master weight receives its gradient in fp32.
/// Everything else stays fp32 without further casts: embeddings and LayerNorm see fp32 inputs, and a bf16 product
/// added to the fp32 residual stream promotes to fp32; the loss casts the logits (<see cref="GptModel.Loss"/>).
public static class Autocast
{
    [ThreadStatic] private static ScalarType? dtype;

    /// The dtype of matrix products on this thread, or null for the parameters' own (no casts).
    public static ScalarType? Dtype => dtype;

    /// Matrix products in <paramref name="computeDtype"/> (null: none) until the returned scope is disposed.
    public static IDisposable Enable(ScalarType? computeDtype)
    {
        var previous = dtype;
        dtype = computeDtype;
        return new Restore(previous);
    }

    /// <see cref="nn.functional.linear"/> in the scope's dtype.
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        if (dtype is not { } d || weight.dtype == d) return nn.functional.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        return nn.functional.linear(x.to(d), weight.to(d), bias?.to(d)).MoveToOuterDisposeScope();
    }

    /// A Linear layer in the scope's dtype; outside a scope, the layer itself.
    public static Tensor Linear(Linear layer, Tensor x)
    {
        if (dtype is null) return layer.call(x);
        using var scope = NewDisposeScope();
        return Linear(x, layer.weight!, layer.bias).MoveToOuterDisposeScope();
    }

    private sealed class Restore(ScalarType? previous) : IDisposable
    {
        public void Dispose() => dtype = previous;
    }
}
