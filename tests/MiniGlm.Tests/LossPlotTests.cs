using MiniGlm.Plots;
using System.Buffers.Binary;
using System.Xml.Linq;
using MiniGlm.Training;

namespace MiniGlm.Tests;

public sealed class LossPlotTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("lossplot-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// A run whose loss decays from start to floor like a real one: noisy per-step train loss every 10 iterations,
    /// val and train_eval estimates every 100.
    private string WriteRun(string name, double start, double floor, int iters, int seed)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        var random = new Random(seed);
        double Loss(int it) => floor + (start - floor) * Math.Exp(-it / (iters / 6.0));
        using var log = new MetricsLog(dir, resumeFromIter: 0);
        for (int it = 0; it <= iters; it += 10)
        {
            if (it % 100 == 0)
            {
                log.Append(new MetricsRecord { Iter = it, Split = "train_eval", Loss = Loss(it) - 0.05 });
                log.Append(new MetricsRecord { Iter = it, Split = "val", Loss = Loss(it) + 0.1 * it / iters });
            }
            log.Append(new MetricsRecord { Iter = it, Split = "train", Loss = Loss(it) + (random.NextDouble() - 0.5) * 0.3 });
        }
        return dir;
    }

    [Fact]
    public void Overlays_runs_into_png_and_svg_with_chinese_run_names()
    {
        var a = WriteRun("射雕-pretrain", 10.8, 3.2, 1000, seed: 1);
        var b = WriteRun("tinyshakespeare", 10.5, 3.6, 600, seed: 2);

        var files = LossPlot.Render([a, b], Path.Combine(root, "compare"));

        Assert.Null(files.Warning); // a CJK font is installed here (and in CI), so the Chinese name must find it
        var png = File.ReadAllBytes(files.Png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        Assert.Equal(LossPlot.Width, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16))); // IHDR width, height
        Assert.Equal(LossPlot.Height, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.InRange(png.Length, 20_000, 5_000_000);

        var svg = File.ReadAllText(files.Svg);
        XDocument.Parse(svg);
        Assert.Contains("射雕-pretrain", svg);
        Assert.Contains("tinyshakespeare", svg);
        Assert.Empty(Directory.GetFiles(root, "*.tmp-*"));
    }

    [Fact]
    public void Smoothing_neither_lags_a_falling_line_nor_moves_the_first_point()
    {
        var line = Enumerable.Range(0, 200).Select(i => 10.0 - 0.01 * i).ToArray();
        var smooth = LossPlot.Smooth(line);
        Assert.Equal(line[0], smooth[0]);
        for (int i = 0; i < 150; i++) Assert.Equal(line[i], smooth[i], 1e-9); // centred window: no lag
    }

    [Fact]
    public void RenderRun_writes_beside_the_run()
    {
        var dir = WriteRun("射雕-sft", 3.0, 1.5, 200, seed: 3);
        var files = LossPlot.RenderRun(dir);
        Assert.Equal(Path.Combine(dir, "loss.png"), files.Png);
        Assert.True(File.Exists(Path.Combine(dir, "loss.png")));
        Assert.True(File.Exists(Path.Combine(dir, "loss.svg")));
    }

    [Fact]
    public void Missing_metrics_file_is_named()
    {
        var dir = Path.Combine(root, "no-run");
        Directory.CreateDirectory(dir);
        var e = Assert.Throws<MiniGlmException>(() => LossPlot.RenderRun(dir));
        Assert.StartsWith(Path.Combine(dir, "metrics.jsonl") + ": not found", e.Message);
    }

    [Fact]
    public void Empty_metrics_file_says_no_metrics_yet()
    {
        var dir = Path.Combine(root, "fresh");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), "");
        var e = Assert.Throws<MiniGlmException>(() => LossPlot.RenderRun(dir));
        Assert.Equal(Path.Combine(dir, "metrics.jsonl") + ": no metrics yet", e.Message);
    }
}
