using MiniGlm.Plots;
using MiniGlm.Training;

namespace MiniGlm.Cli.Commands;

public static class PlotCommand
{
    private const string Usage = """
        usage: ./miniglm plot RUN_DIR [RUN_DIR …] [--out PATH]
          Draws train/val loss curves from each run's metrics.jsonl, overlaid, to PATH.png and PATH.svg
          (default: RUN_DIR/loss.png and loss.svg for one run, ./loss.png and loss.svg for several).
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        if (cl.Positionals.Count == 0) throw new MiniGlmException("plot: give at least one run directory (e.g. out/pretrain)");
        var output = cl.Get("out");
        cl.RejectUnknown("plot");
        var files = output is null && cl.Positionals.Count == 1
            ? LossPlot.RenderRun(cl.Positionals[0])
            : LossPlot.Render(cl.Positionals, output ?? "loss");
        Report(files);
        return 0;
    }

    public static void Report(LossPlotFiles files)
    {
        if (files.Warning is not null) Console.Error.WriteLine($"warning: {files.Warning}");
        Console.WriteLine($"wrote {files.Png} and {files.Svg}");
    }
}
