namespace MiniGlm.Training;

/// nanoGPT's learning rate: linear warmup, cosine decay to min_lr at lr_decay_iters, then min_lr.
public static class LrSchedule
{
    public static double At(int iter, TrainConfig c)
    {
        if (!c.DecayLr) return c.LearningRate;
        if (iter < c.WarmupIters) return c.LearningRate * (iter + 1) / (c.WarmupIters + 1);
        if (iter > c.LrDecayIters) return c.MinLr;
        double ratio = (double)(iter - c.WarmupIters) / Math.Max(1, c.LrDecayIters - c.WarmupIters);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));
        return c.MinLr + coeff * (c.LearningRate - c.MinLr);
    }
}
