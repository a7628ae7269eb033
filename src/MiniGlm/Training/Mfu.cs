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
        var c = zeros(rows, vocab); // written in place: first-touch page faults would be timed as matmul
        c.addmm_(a, b, 0, 1); // warm-up: thread pool start
        var sw = Stopwatch.StartNew();
        int reps = 0;
        do { c.addmm_(a, b, 0, 1); reps++; } while (sw.Elapsed.TotalSeconds < 0.5);
        return 2.0 * rows * nEmbd * vocab * reps / sw.Elapsed.TotalSeconds;
    }
}
