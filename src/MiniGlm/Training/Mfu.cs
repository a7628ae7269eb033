using System.Diagnostics;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// Model FLOPs utilisation: the model's FLOPs per second (nanoGPT's 6N + 12LHQT per token) divided by the fp32
/// matmul throughput this process actually gets on a large square product. (A model-shaped product is no
/// ceiling: a small model's thin products run below what its backward pass reaches, and MFU came out over 100 %.)
public static class Mfu
{
    public static double MeasurePeakFlops()
    {
        const long n = 1024;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n);
        var b = randn(n, n);
        var c = zeros(n, n); // written in place: first-touch page faults would be timed as matmul
        c.addmm_(a, b, 0, 1); // warm-up: thread pool start
        var sw = Stopwatch.StartNew();
        int reps = 0;
        do { c.addmm_(a, b, 0, 1); reps++; } while (sw.Elapsed.TotalSeconds < 0.5);
        return 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds;
    }
}
