using MiniGlm.IO;
using MiniGlm.Training;
using System.Text.RegularExpressions;
using ScottPlot;

namespace MiniGlm.Plots;

/// What LossPlot wrote; Warning is a line for the front end to print (e.g. no font for the run names).
public sealed record LossPlotFiles(string Png, string Svg, string? Warning);

/// Draws the train/val loss curves of one or more runs from their metrics.jsonl, as loss.png and loss.svg.
/// The split decides the style: the per-step train loss is noisy, so it is drawn faint under a smoothed line; val
/// estimates are a line with markers; train_eval estimates are dashed. Several runs get a colour each; a single run
/// gets a colour per split instead, because its val and train lines would otherwise look alike.
public static class LossPlot
{
    public const int Width = 1200, Height = 700;

    /// Writes runDir/loss.png and runDir/loss.svg.
    public static LossPlotFiles RenderRun(string runDir) => Render([runDir], Path.Combine(runDir, "loss"));

    /// Overlays the runs and writes outputPathWithoutExtension + ".png" and + ".svg".
    public static LossPlotFiles Render(IReadOnlyList<string> runDirs, string outputPathWithoutExtension)
    {
        if (runDirs.Count == 0) throw new MiniGlmException("loss plot: no run directories given");
        var records = runDirs.Select(Load).ToList();
        var names = RunNames(runDirs);
        var title = Title(names);
        var (font, warning) = PlotFont.For(title + string.Concat(names));

        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < records.Count; i++)
        {
            var runColor = palette.GetColor(i);
            Color ColorOf(string split) => records.Count > 1 ? runColor : palette.GetColor(Array.IndexOf(Splits, split));
            AddRun(plot, names[i], records[i], ColorOf);
        }

        Style(plot, title, font, records.SelectMany(r => r).ToList());
        var png = outputPathWithoutExtension + ".png";
        var svg = outputPathWithoutExtension + ".svg";
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        AtomicFile.WriteAllText(svg, WithFallbackFonts(plot.GetSvgXml(Width, Height)));
        return new LossPlotFiles(png, svg, warning);
    }

    private static List<MetricsRecord> Load(string runDir)
    {
        var path = Path.Combine(runDir, MetricsLog.FileName);
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: not found (not a run directory, or the run has not started)");
        var records = MetricsLog.Read(path);
        if (records.Count == 0) throw new MiniGlmException($"{path}: no metrics yet");
        return records;
    }

    private static readonly string[] Splits = ["train", "val", "train_eval"];

    private static void AddRun(Plot plot, string name, List<MetricsRecord> records, Func<string, Color> colorOf)
    {
        var (xs, ys) = Series(records, "train");
        if (xs.Length > 0)
        {
            var raw = plot.Add.ScatterLine(xs, ys, colorOf("train").WithAlpha(0.25));
            raw.LineWidth = 1;
            var line = plot.Add.ScatterLine(xs, Smooth(ys), colorOf("train"));
            line.LineWidth = 2;
            line.LegendText = $"{name} · train (smoothed)";
        }

        (xs, ys) = Series(records, "val");
        if (xs.Length > 0)
        {
            var val = plot.Add.Scatter(xs, ys, colorOf("val"));
            val.LineWidth = 2.5f;
            val.MarkerSize = 7;
            val.MarkerShape = MarkerShape.FilledCircle;
            val.LegendText = $"{name} · val";
        }

        (xs, ys) = Series(records, "train_eval");
        if (xs.Length > 0)
        {
            var trainEval = plot.Add.ScatterLine(xs, ys, colorOf("train_eval"));
            trainEval.LineWidth = 2;
            trainEval.LinePattern = LinePattern.Dashed;
            trainEval.LegendText = $"{name} · train (eval)";
        }
    }

    /// One split's points in iteration order; a diverged run's NaN/inf losses are left out so the axes stay sane.
    private static (double[] Xs, double[] Ys) Series(List<MetricsRecord> records, string split)
    {
        var points = records.Where(r => r.Split == split && double.IsFinite(r.Loss)).OrderBy(r => r.Iter).ToList();
        return (points.Select(r => (double)r.Iter).ToArray(), points.Select(r => r.Loss).ToArray());
    }

    /// Average with EMA weights (beta^distance) over both neighbours, looking ahead never further than behind.
    /// A plain trailing EMA lags the steep early drop and draws the train loss above val there, which reads as a
    /// finding; a centred window does not lag, and truncating it at the start keeps the first point from being
    /// pulled down by the later, lower losses. At the end the window trails, where the curve is nearly flat.
    /// Each side spans about 1/40 of the points, between 2.5 and 50, so short and long runs both read well.
    internal static double[] Smooth(double[] ys)
    {
        var beta = Math.Clamp(1 - 40.0 / ys.Length, 0.6, 0.98);
        var reach = (int)Math.Ceiling(3 / (1 - beta)); // beyond it the weights add up to under 5%
        var weight = Enumerable.Range(0, reach + 1).Select(d => Math.Pow(beta, d)).ToArray();
        var smooth = new double[ys.Length];
        for (int i = 0; i < ys.Length; i++)
        {
            int behind = Math.Min(i, reach), ahead = Math.Min(ys.Length - 1 - i, behind);
            double sum = 0, total = 0;
            for (int j = -behind; j <= ahead; j++)
            {
                sum += weight[Math.Abs(j)] * ys[i + j];
                total += weight[Math.Abs(j)];
            }
            smooth[i] = sum / total;
        }
        return smooth;
    }

    private static void Style(Plot plot, string title, string font, List<MetricsRecord> all)
    {
        plot.Title(title, size: 20);
        plot.XLabel("iteration", size: 16);
        plot.YLabel("loss", size: 16);
        plot.Axes.Title.Label.FontName = font;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.Label.FontName = font;
            axis.TickLabelStyle.FontName = font;
            axis.TickLabelStyle.FontSize = 13;
        }
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.08);

        // Outside the data area, right of it: losses fall from the top left, and no corner is free for sure.
        plot.Legend.FontName = font;
        plot.Legend.FontSize = 14;
        plot.Legend.OutlineColor = Colors.Transparent;
        plot.Legend.ShadowColor = Colors.Transparent;
        plot.ShowLegend(Edge.Right);

        // Every finite loss is shown (a spike is worth seeing); x starts at 0 so runs line up from their start.
        var losses = all.Select(r => r.Loss).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double lo = losses.Min(), hi = losses.Max(), pad = Math.Max(hi - lo, Math.Abs(hi) * 0.1 + 1e-3) * 0.04;
        plot.Axes.SetLimitsY(Math.Max(0, lo - pad), hi + pad);
        plot.Axes.SetLimitsX(0, Math.Max(1, all.Max(r => r.Iter)) * 1.01);
    }

    /// Skia's SVG names only the font the PNG was drawn with; a browser without it needs CJK-capable fallbacks
    /// before the generic sans-serif, or the run names turn into boxes there.
    private static string WithFallbackFonts(string svg) => Regex.Replace(svg, "font-family=\"([^\"]*)\"",
        m => $"font-family=\"{m.Groups[1].Value}, {SvgFallbackFonts}\"");

    private const string SvgFallbackFonts =
        "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', 'WenQuanYi Micro Hei', sans-serif";

    /// A run is named by its directory; runs with the same directory name (a/out, b/out) get their parent's too.
    private static List<string> RunNames(IReadOnlyList<string> runDirs)
    {
        static string Leaf(string p) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(p)));
        var leaves = runDirs.Select(Leaf).ToList();
        return runDirs.Select((dir, i) => leaves.Count(l => l == leaves[i]) == 1
            ? leaves[i]
            : $"{Leaf(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)))!)}/{leaves[i]}").ToList();
    }

    private static string Title(List<string> names) => names.Count <= 3
        ? $"Loss: {string.Join(" vs ", names)}"
        : $"Loss: {string.Join(", ", names.Take(3))} and {names.Count - 3} more";
}
