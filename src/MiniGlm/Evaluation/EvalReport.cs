using MiniGlm.IO;
using MiniGlm.Plots;
using System.Globalization;
using MiniGlm.Training;

namespace MiniGlm.Evaluation;

/// The files an evaluation writes to its output directory; Warning is a line for the front end (e.g. no CJK font).
public sealed record EvalReportFiles(string Results, string Markdown, string Html, IReadOnlyList<string> Images, string? Warning);

/// Writes results.json, report.md and report.html (plus the PNG charts report.md shows) to a directory. Each file
/// is written atomically, results.json last: its presence means the report beside it is complete.
public static class EvalReport
{
    public static EvalReportFiles Write(EvalResults results, string outDir)
    {
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture; // numbers read the same on every machine
        try
        {
            Directory.CreateDirectory(outDir);
            var charts = EvalCharts.Draw(results);
            var (loss, lossNote, warning) = LossCurves(results, outDir);
            var images = new List<string>();
            foreach (var chart in charts)
            {
                var path = Path.Combine(outDir, chart.FileName);
                AtomicFile.WriteAllBytes(path, chart.Png);
                images.Add(path);
            }
            if (loss is not null) images.Add(Path.Combine(outDir, loss.FileName));
            var sections = ReportContent.Build(results, charts, loss, lossNote);
            var md = Path.Combine(outDir, "report.md");
            var html = Path.Combine(outDir, "report.html");
            var json = Path.Combine(outDir, EvalResults.FileName);
            AtomicFile.WriteAllText(md, MarkdownReport.Render(sections));
            AtomicFile.WriteAllText(html, HtmlReport.Render(sections));
            AtomicFile.WriteAllText(json, results.ToJson());
            return new EvalReportFiles(json, md, html, images, warning);
        }
        finally { CultureInfo.CurrentCulture = culture; }
    }

    /// The training curves of every run a checkpoint came from, overlaid (loss.png and loss.svg).
    private static (EvalChart?, string?, string?) LossCurves(EvalResults results, string outDir)
    {
        var runs = results.Checkpoints.Where(c => c.RunDir is not null).Select(c => c.RunDir!).Distinct().ToList();
        var without = results.Checkpoints.Where(c => c.RunDir is null).Select(c => c.Name).ToList();
        var note = without.Count == 0 ? null : $"No training log (metrics.jsonl in the checkpoint's run directory) for {string.Join(", ", without)}.";
        if (runs.Count == 0) return (null, note ?? "No training logs found.", null);
        try
        {
            var files = LossPlot.Render(runs, Path.Combine(outDir, "loss"));
            return (new EvalChart("Loss curves", Path.GetFileName(files.Png), File.ReadAllBytes(files.Png)), note, files.Warning);
        }
        catch (MiniGlmException e) { return (null, $"No loss curves: {e.Message}", null); }
    }
}
