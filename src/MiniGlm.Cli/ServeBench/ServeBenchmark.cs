using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Cli.Commands;
using MiniGlm.IO;

namespace MiniGlm.Cli.ServeBench;

/// `bench serve`: a loopback load test of `serve`, a server already running (Url) or one started from a checkpoint
/// in a process of its own (Ckpt). For each client count, every client streams its requests one after another;
/// printed as a Markdown table (aggregate completion tokens/s, time to first token and latency percentiles, the
/// slowest request's tokens/s, errors) and written as JSON.
public static class ServeBenchmark
{
    public sealed record Options(Uri? Url, string? Ckpt, string Dtype, string? Model, IReadOnlyList<int> Clients, int Requests,
                                 int MaxTokens, double Temperature, string OutPath);

    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2), AnswerTimeout = TimeSpan.FromSeconds(30);

    public static void Run(Options o)
    {
        Console.WriteLine($"CPU: {CpuFlags.Describe()}; load average {BenchCommand.LoadAverage()}");
        // Every client's request may wait at once: the queue must not refuse any (429 would count as errors).
        int queue = o.Clients.Max();
        using var server = o.Ckpt is null ? null : ServerProcess.Start(o.Ckpt, o.Dtype, queue, StartTimeout);
        if (server is not null) Console.WriteLine($"serve --ckpt {o.Ckpt} --dtype {o.Dtype} --queue {queue}: listening on {server.Address} (a process of its own)");
        using var load = new ServeLoad(server?.Address ?? o.Url!);
        var model = o.Model ?? load.FirstModel(AnswerTimeout);
        var warmUp = load.Run(model, 1, 1, 8, o.Temperature);
        if (warmUp.Errors.Count > 0) throw new MiniGlmException($"the warm-up request to model {model} failed: {warmUp.Errors[0]}");

        Console.WriteLine(FormattableString.Invariant($"model {model}, {o.Requests} requests per client, max_tokens {o.MaxTokens}, temperature {o.Temperature}"));
        Console.WriteLine("| clients | requests | tokens | wall s | aggregate tok/s | TTFT p50 ms | TTFT p99 ms | latency p50 s | latency p99 s | slowest request tok/s | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var rows = new List<Row>();
        foreach (int clients in o.Clients)
        {
            var (done, errors, wall) = load.Run(model, clients, o.Requests, o.MaxTokens, o.Temperature);
            var row = Summarize(clients, done, errors, wall);
            rows.Add(row);
            Console.WriteLine(MarkdownRow(row));
            foreach (var e in row.FirstErrors) Console.WriteLine($"  error: {e}");
        }
        if (rows.FirstOrDefault(r => r.Clients == 1) is { TokensPerSec: > 0 } one && rows.FirstOrDefault(r => r.Clients == 4) is { } four)
            Console.WriteLine(FormattableString.Invariant($"4 clients: {four.TokensPerSec / one.TokensPerSec:F2}× the aggregate tokens/s of 1"));

        AtomicFile.WriteAllText(o.OutPath, JsonSerializer.Serialize(new
        {
            url = o.Ckpt is null ? o.Url!.ToString() : null, ckpt = o.Ckpt, dtype = o.Ckpt is null ? null : o.Dtype, model,
            requests_per_client = o.Requests, max_tokens = o.MaxTokens, temperature = o.Temperature, date = DateTime.UtcNow.ToString("O"),
            cpu = CpuFlags.Describe(), load_average = BenchCommand.LoadAverage(), rows,
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written {o.OutPath}");
    }

    /// One client count's figures; a percentile of no answered request is null.
    public sealed record Row(
        [property: JsonPropertyName("clients")] int Clients,
        [property: JsonPropertyName("requests")] int Requests,
        [property: JsonPropertyName("tokens")] int Tokens,
        [property: JsonPropertyName("wall_seconds")] double WallSeconds,
        [property: JsonPropertyName("tokens_per_sec")] double TokensPerSec,
        [property: JsonPropertyName("ttft_p50_ms")] double? TtftP50Ms,
        [property: JsonPropertyName("ttft_p99_ms")] double? TtftP99Ms,
        [property: JsonPropertyName("latency_p50_s")] double? LatencyP50Seconds,
        [property: JsonPropertyName("latency_p99_s")] double? LatencyP99Seconds,
        [property: JsonPropertyName("slowest_request_tokens_per_sec")] double? SlowestRequestTokensPerSec,
        [property: JsonPropertyName("errors")] int Errors,
        [property: JsonPropertyName("first_errors")] IReadOnlyList<string> FirstErrors);

    private static Row Summarize(int clients, List<ServeTiming> done, List<string> errors, double wall)
    {
        int tokens = done.Sum(t => t.Tokens);
        var ttft = done.Select(t => t.FirstSeconds * 1000).ToList();
        var latency = done.Select(t => t.LatencySeconds).ToList();
        var perRequest = done.Where(t => t.LatencySeconds > 0).Select(t => t.Tokens / t.LatencySeconds).ToList();
        return new Row(clients, done.Count, tokens, wall, tokens / wall, Percentile(ttft, 50), Percentile(ttft, 99), Percentile(latency, 50),
                       Percentile(latency, 99), perRequest.Count > 0 ? perRequest.Min() : null, errors.Count, errors.Take(3).ToList());
    }

    /// The nearest-rank percentile (the index rounded half to even, as Python's round).
    private static double? Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return null;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Round(p / 100 * (sorted.Count - 1)))];
    }

    private static string MarkdownRow(Row r)
    {
        static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "—";
        return $"| {r.Clients} | {r.Requests} | {r.Tokens} | {F(r.WallSeconds, "F1")} | {F(r.TokensPerSec, "F1")} | {F(r.TtftP50Ms, "F0")} | " +
               $"{F(r.TtftP99Ms, "F0")} | {F(r.LatencyP50Seconds, "F2")} | {F(r.LatencyP99Seconds, "F2")} | {F(r.SlowestRequestTokensPerSec, "F1")} | {r.Errors} |";
    }
}
