using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace MiniGlm.Cli.ServeBench;

/// The load of `bench serve`: C concurrent clients against an OpenAI-compatible server, each streaming R chat
/// completions one after another. A request's completion tokens are those its usage chunk reports; a request that
/// fails (not HTTP 200, no usage chunk, an exception) is counted and its message kept, never fatal.
public sealed class ServeLoad : IDisposable
{
    /// Questions in the quickstart's domain (Chinese poetry), taken in turn.
    private static readonly string[] Prompts = ["床前明月光的下一句是什么？", "写一首关于春天的诗", "李白是谁？", "静夜思的作者是谁？"];
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(5);
    private readonly HttpClient http;

    public ServeLoad(Uri server) =>
        // The timeout is per request, over the whole stream (HttpClient's own ends when the headers arrive).
        http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };

    /// The first model of GET /v1/models; a server that does not answer within <paramref name="timeout"/> is an error.
    public string FirstModel(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            using var response = http.GetAsync("v1/models", cancel.Token).GetAwaiter().GetResult();
            var body = response.Content.ReadAsStringAsync(cancel.Token).GetAwaiter().GetResult();
            if (response.StatusCode != HttpStatusCode.OK) throw new MiniGlmException($"{http.BaseAddress}v1/models: HTTP {(int)response.StatusCode}: {Shorten(body)}");
            using var models = JsonDocument.Parse(body);
            return models.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).FirstOrDefault()
                   ?? throw new MiniGlmException($"{http.BaseAddress}v1/models lists no model");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new MiniGlmException($"{http.BaseAddress}v1/models: {(e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:F0} s" : e.Message)}");
        }
    }

    /// One level of load: every client's requests, all clients at once.
    public (List<ServeTiming> Done, List<string> Errors, double WallSeconds) Run(string model, int clients, int requests, int maxTokens, double temperature)
    {
        var done = new List<ServeTiming>();
        var errors = new List<string>();
        async Task Client(int k)
        {
            for (int r = 0; r < requests; r++)
            {
                try
                {
                    var t = await Request(model, Prompts[(k + r) % Prompts.Length], maxTokens, temperature);
                    lock (done) done.Add(t);
                }
                catch (Exception e) { lock (errors) errors.Add(e is OperationCanceledException ? $"no answer within {RequestTimeout.TotalSeconds:F0} s" : e.Message); }
            }
        }
        var clock = Stopwatch.StartNew();
        Task.WhenAll(Enumerable.Range(0, clients).Select(k => Task.Run(() => Client(k)))).GetAwaiter().GetResult();
        return (done, errors, clock.Elapsed.TotalSeconds);
    }

    /// Streams one chat completion, timing its first content and its end.
    private async Task<ServeTiming> Request(string model, string prompt, int maxTokens, double temperature)
    {
        using var cancel = new CancellationTokenSource(RequestTimeout);
        var body = JsonSerializer.Serialize(new
        {
            model, messages = new[] { new { role = "user", content = prompt } }, max_tokens = maxTokens, temperature,
            stream = true, stream_options = new { include_usage = true },
        });
        var clock = Stopwatch.StartNew();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        // Headers only: PostAsync would buffer the whole stream, and the first token would seem to come last.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new HttpRequestException($"HTTP {(int)response.StatusCode}: {Shorten(await response.Content.ReadAsStringAsync(cancel.Token))}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        double? first = null;
        int? tokens = null;
        while (await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
            using var chunk = JsonDocument.Parse(line[6..]);
            var root = chunk.RootElement;
            if (first is null && root.TryGetProperty("choices", out var choices) && choices.EnumerateArray().Any(HasContent))
                first = clock.Elapsed.TotalSeconds;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                tokens = usage.GetProperty("completion_tokens").GetInt32();
        }
        double latency = clock.Elapsed.TotalSeconds;
        if (tokens is null) throw new InvalidDataException("no usage chunk");
        return new ServeTiming(first ?? latency, latency, tokens.Value);
    }

    private static bool HasContent(JsonElement choice) =>
        choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String && c.GetString()!.Length > 0;

    private static string Shorten(string body) => body.Length <= 200 ? body : body[..200] + "…";

    public void Dispose() => http.Dispose();
}

/// One answered request: seconds to its first content (its whole latency if it had none), to its end, and its tokens.
public sealed record ServeTiming(double FirstSeconds, double LatencySeconds, int Tokens);
