using System.Diagnostics;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// Model FLOPs utilisation: the model's FLOPs per second (nanoGPT's 6N + 12LHQT per token) divided by the fp32
/// matmul throughput this process actually gets on a model-shaped product (activations × LM head).
public static class Mfu
{
    public static double MeasurePeakFlops(long rows, long nEmbd, long vocab)
    {
        rows = Math.Clamp(rows, 64, 2048);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(rows, nEmbd);
        var b = randn(nEmbd, vocab);
        a.matmul(b); // warm-up: thread pool start, allocator
        var sw = Stopwatch.StartNew();
        int reps = 0;
        do { a.matmul(b); reps++; } while (sw.Elapsed.TotalSeconds < 0.3);
        return 2.0 * rows * nEmbd * vocab * reps / sw.Elapsed.TotalSeconds;
    }
}
