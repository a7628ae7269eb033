using MiniGlm.Training;

namespace MiniGlm.Tests;

/// A 2-layer × 64 training config that runs in seconds, and an observer that stops a run like Ctrl-C would.
public static class TinyTraining
{
    public static TrainConfig Config(string dataset, string outDir, int blockSize, params (string Key, string Value)[] extra) =>
        TrainConfig.Load(null, new (string, string)[]
        {
            ("dataset", dataset), ("out_dir", outDir), ("n_layer", "2"), ("n_head", "2"), ("n_embd", "64"),
            ("block_size", blockSize.ToString()), ("batch_size", "8"), ("eval_iters", "4"), ("eval_interval", "10"),
            ("log_interval", "1"), ("warmup_iters", "5"), ("learning_rate", "3e-3"), ("min_lr", "3e-4"), ("threads", "2"),
            ("dtype", "float32"), // the same numbers on every CPU unless a test asks for bf16
        }.Concat(extra).Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2)));

    public sealed class StopAt(int iter, CancellationTokenSource cts) : ITrainingObserver
    {
        public void Step(StepReport e) { if (e.Iter == iter) cts.Cancel(); }
    }
}
