using MiniGlm.Evaluation;
using MiniGlm.Training;
using ScottPlot;

namespace MiniGlm.Plots;

/// A chart of the report as PNG bytes, with the file name it is saved under beside report.md.
public sealed record EvalChart(string Title, string FileName, byte[] Png);

/// The report's bar charts: each metric (or question type) is a group with one bar per checkpoint, so checkpoints
/// compare side by side; every bar carries its value, since a reader wants the number, not a guess at a height.
public static class EvalCharts
{
    public const int Width = 1000, Height = 520;

    public static List<EvalChart> Draw(EvalResults results)
    {
        var charts = new List<EvalChart>();
        var names = results.Checkpoints.Select(c => c.Name).ToList();
        var withQa = results.Checkpoints.Where(c => c.Qa is not null).ToList();
        if (withQa.Count == results.Checkpoints.Count && withQa.Count > 0)
        {
            var qa = withQa.Select(c => c.Qa!).ToList();
            charts.Add(Bars("Answer quality (higher is better)", "quality.png", names,
                ["Rouge-L F", "char F1", "key match"],
                qa.Select(s => new[] { s.RougeL, s.CharF1, s.KeyMatch ?? double.NaN }).ToList()));
            charts.Add(Bars("Failure rates (lower is better)", "failures.png", names,
                ["empty", "U+FFFD", "repetitive", "truncated"],
                qa.Select(s => new[] { s.EmptyRate, s.BrokenRate, s.RepetitiveRate, s.TruncatedRate }).ToList()));
            var types = results.Questions.Select(q => string.IsNullOrEmpty(q.Type) ? QaItem.NoType : q.Type).Distinct().Order(StringComparer.Ordinal).ToList();
            if (types.Count > 1)
                charts.Add(Bars("Rouge-L F by question type", "types.png", names, types,
                    names.Select((_, c) => types.Select(t => results.Questions
                        .Where(q => (string.IsNullOrEmpty(q.Type) ? QaItem.NoType : q.Type) == t)
                        .Average(q => q.Answers[c].RougeL)).ToArray()).ToList()));
        }
        var lm = results.Checkpoints.Select(c => c.LanguageModel).ToList();
        if (lm.All(s => s is not null) && lm.Count > 0)
            charts.Add(Bars("Bits per character on the val split (lower is better)", "bits_per_char.png", names, ["bits/char"],
                lm.Select(s => new[] { s!.BitsPerChar }).ToList(), fraction: false));
        return charts;
    }

    /// values[checkpoint][group]; NaN draws no bar (e.g. no question had a key).
    private static EvalChart Bars(string title, string fileName, List<string> series, List<string> groups, List<double[]> values, bool fraction = true)
    {
        var (font, _) = PlotFont.For(title + string.Concat(series) + string.Concat(groups));
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / series.Count;
        var bars = new List<Bar>();
        for (int s = 0; s < series.Count; s++)
            for (int g = 0; g < groups.Count; g++)
            {
                double v = values[s][g];
                if (!double.IsFinite(v)) continue;
                bars.Add(new Bar
                {
                    Position = g + (s - (series.Count - 1) / 2.0) * width, Value = v, Size = width * 0.92,
                    FillColor = palette.GetColor(s), LineWidth = 0, Label = fraction ? $"{v:0.00}" : $"{v:0.000}",
                });
            }
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontName = font;
        plottable.ValueLabelStyle.FontSize = 12;
        for (int s = 0; s < series.Count; s++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s], FillColor = palette.GetColor(s) });

        plot.Title(title, size: 18);
        plot.Axes.Title.Label.FontName = font;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, groups.Count).Select(g => (double)g).ToArray(), groups.ToArray());
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.TickLabelStyle.FontName = font;
            axis.TickLabelStyle.FontSize = 13;
        }
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.08);
        plot.Legend.FontName = font;
        plot.Legend.FontSize = 13;
        plot.Legend.OutlineColor = Colors.Transparent;
        plot.ShowLegend(Edge.Right);
        double top = bars.Count == 0 ? 1 : bars.Max(b => b.Value);
        plot.Axes.SetLimitsY(0, fraction ? 1.1 : Math.Max(top * 1.15, 1e-3));
        plot.Axes.SetLimitsX(-0.5, groups.Count - 0.5);
        return new EvalChart(title, fileName, plot.GetImageBytes(Width, Height, ImageFormat.Png));
    }
}
