using System.Diagnostics;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// Model FLOPs utilisation: the model's FLOPs per second (nanoGPT's 6N + 12LHQT per token) divided by the matmul
/// throughput this process gets on a large square product in the dtype training computes in (bf16 products have
/// their own, higher peak). A model-shaped product is no ceiling: a small model's thin products run below what
/// its backward pass reaches, and MFU came out over 100 %.
public static class Mfu
{
    /// The best of several short timings: other work on the machine can only slow a timing down, so the fastest
    /// one is the nearest to what the hardware does.
    public static double MeasurePeakFlops(ScalarType dtype = ScalarType.Float32)
    {
        const long n = 1024;
        const int windows = 5;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n).to(dtype);
        var b = randn(n, n).to(dtype);
        var c = zeros(n, n, dtype: dtype); // written in place: first-touch page faults would be timed as matmul
        c.addmm_(a, b, 0, 1); // warm-up: thread pool start
        double best = 0;
        for (int w = 0; w < windows; w++)
        {
            var sw = Stopwatch.StartNew();
            int reps = 0;
            do { c.addmm_(a, b, 0, 1); reps++; } while (sw.Elapsed.TotalSeconds < 0.1);
            best = Math.Max(best, 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// Achieved over peak, where a run that beats the measured peak (measured in a busy moment) becomes the peak:
    /// a utilisation over 100 % is not a figure.
    public static double Of(double achievedFlopsPerSec, ref double peakFlops)
    {
        peakFlops = Math.Max(peakFlops, achievedFlopsPerSec);
        return achievedFlopsPerSec / peakFlops;
    }
}
