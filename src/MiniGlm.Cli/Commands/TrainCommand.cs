using MiniGlm.Plots;
using MiniGlm.Training;

namespace MiniGlm.Cli.Commands;

public static class TrainCommand
{
    private const string Usage = """
        usage: ./miniglm train [CONFIG.json] [--key=value …]
          Pretrain (init_from=scratch), continue (init_from=resume, from OUT_DIR/latest) or fine-tune
          (init_from=finetune with --ckpt_dir) a GPT. Any config key can be overridden, e.g.
            ./miniglm train configs/pretrain_seed.json --dataset data/novels --out_dir out/pretrain --max_iters=2000
          Ctrl-C saves a checkpoint and exits; --init_from=resume continues the same curve.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage + "\n  keys: " + string.Join(", ", TrainConfig.Keys)); return 0; }
        if (cl.Positionals.Count > 1) throw new MiniGlmException($"train takes at most one config file, got: {string.Join(" ", cl.Positionals)}");
        var overrides = cl.Overrides();
        var config = Trainer.Configure(cl.Positionals.FirstOrDefault(), overrides);
        if (config.Dataset == "") throw new MiniGlmException("missing --dataset (a directory made by ./miniglm prepare)");

        using var shutdown = new Shutdown("stopping: saving a checkpoint at the end of this step (Ctrl-C again to quit at once)");
        var result = TrainProgressView.Run(observer => new Trainer(config, observer).Run(shutdown.Token));
        Console.WriteLine($"{(result.Cancelled ? "stopped" : "done")} at iter {result.Iter}; best val loss {result.BestValLoss:F4}; " +
                          $"checkpoints in {result.RunDir}");
        try { PlotCommand.Report(LossPlot.RenderRun(result.RunDir)); }
        catch (MiniGlmException e) { Console.Error.WriteLine($"warning: no loss plot: {e.Message}"); }
        if (result.Cancelled) Console.WriteLine($"continue with: ./miniglm train --out_dir {result.RunDir} --init_from=resume");
        return 0;
    }
}
