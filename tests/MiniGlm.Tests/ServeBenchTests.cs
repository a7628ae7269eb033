using System.Text.Json;
using MiniGlm.Generation;

namespace MiniGlm.Tests;

/// `bench serve --ckpt`: serve started in a process of its own, loaded by concurrent streaming clients, stopped.
public class ServeBenchTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Bench_serve_loads_a_server_it_starts_and_writes_a_row_per_client_count()
    {
        var ckpt = TinyCheckpoint.Create(dir["chat"], ChatTemplate.Seed);
        var report = dir["bench-serve.json"];
        var (code, stdout, stderr) = Cli.Run("bench", "serve", "--ckpt", ckpt, "--clients", "1,2", "--requests", "2", "--max_tokens", "8", "--out", report);
        Assert.True(code == 0, stderr);
        Assert.Contains("| clients | requests | tokens |", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal([1, 2], rows.Select(r => r.GetProperty("clients").GetInt32()));
        foreach (var row in rows)
        {
            Assert.Equal(0, row.GetProperty("errors").GetInt32());
            Assert.Equal(2 * row.GetProperty("clients").GetInt32(), row.GetProperty("requests").GetInt32());
            Assert.True(row.GetProperty("tokens").GetInt32() > 0, $"no tokens: {row}");
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("x")]
    [InlineData("1,,4")]
    public void Bench_serve_refuses_a_client_list_that_is_not_positive_integers(string clients)
    {
        var (code, _, stderr) = Cli.Run("bench", "serve", "--ckpt", dir.Path, "--clients", clients);
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --clients expects positive integers", line);
        Assert.Contains($"got '{clients}'", line);
    }
}
