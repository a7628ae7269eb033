using MiniGlm.Training;
using Spectre.Console;

namespace MiniGlm.Cli;

/// Shows training progress: a live bar (iteration, loss, lr, tokens/s, MFU, ETA) on a terminal, and plain
/// nanoGPT-style log lines when the output is redirected.
public sealed class TrainProgressView : ITrainingObserver
{
    private ProgressTask? bar;

    public static TrainResult Run(Func<ITrainingObserver, TrainResult> train)
    {
        var view = new TrainProgressView();
        if (Console.IsOutputRedirected) return train(view);
        TrainResult? result = null;
        AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                view.bar = ctx.AddTask("starting", autoStart: false);
                result = train(view);
                view.bar.StopTask();
            });
        return result!;
    }

    public void Started(TrainingStarted e)
    {
        Line($"model: {e.Parameters / 1e6:F2}M parameters; {e.TokensPerIter:N0} tokens per iteration; {e.Threads} threads; " +
             $"matmul peak {e.PeakFlops / 1e9:F0} GFLOP/s in {e.Dtype.Name}, measured in this process: MFU is against it, not the CPU's datasheet peak");
        Line($"dtype: {e.Dtype.Name} ({e.Dtype.Reason})");
        Line(e.FromCheckpoint is null ? "init: scratch" : $"init: {e.InitFrom} from {e.FromCheckpoint} at iter {e.StartIter}");
        if (bar is null) return;
        bar.MaxValue = Math.Max(1, e.MaxIters);
        bar.Value = e.StartIter;
        bar.StartTask();
    }

    public void Step(StepReport e)
    {
        var text = $"iter {e.Iter}: loss {e.Loss:F4}, lr {e.LearningRate:0.00e+00}, {e.TokensPerSec:N0} tok/s, mfu {e.Mfu * 100:F1}%";
        if (bar is null) { Console.WriteLine($"{text}, elapsed {Format(e.ElapsedSeconds)}"); return; }
        bar.Value = e.Iter;
        bar.Description = Markup.Escape(text);
    }

    public void Evaluated(LossEstimate e) =>
        Line($"step {e.Iter}: train loss {e.TrainLoss:F4}, val loss {e.ValLoss:F4}{(e.Improved ? " (best)" : "")}");

    public void Checkpointed(string dir, int iter) => Line($"saved checkpoint {dir} (iter {iter})");

    private void Line(string text)
    {
        if (bar is null) Console.WriteLine(text);
        else AnsiConsole.MarkupLine(Markup.Escape(text));
    }

    private static string Format(double seconds) => TimeSpan.FromSeconds(seconds).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss");
}
