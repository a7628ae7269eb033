using TorchSharp;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// One training or evaluation batch: inputs and next-token targets; for SFT also a loss mask aligned with the
/// targets and, for packed rows, an attention mask and position ids that keep each document on its own.
public sealed record Batch(Tensor X, Tensor Y, Tensor? LossMask = null, Tensor? AttentionMask = null, Tensor? Positions = null)
{
    /// The batch on the training device (itself on the CPU).
    public Batch To(Device device) => device.type == DeviceType.CPU ? this
        : new(X.to(device), Y.to(device), LossMask?.to(device), AttentionMask?.to(device), Positions?.to(device));
}

/// Where the trainer's batches come from. Batches are a pure function of their coordinates (iteration, micro step
/// or eval index), so a resumed run draws exactly the batches an uninterrupted one would.
public interface IBatchSource : IDisposable
{
    /// Training batch for micro step <paramref name="micro"/> of iteration <paramref name="iter"/>.
    Batch Train(int iter, int micro);

    /// Evaluation batch <paramref name="index"/> of a split ("train" or "val"); the same at every evaluation.
    Batch Eval(string split, int index);

    /// Tokens (positions) per batch, for throughput figures.
    long TokensPerBatch { get; }
}
