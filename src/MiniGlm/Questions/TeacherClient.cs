using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MiniGlm.Questions;

public sealed record TeacherOptions
{
    /// The API base (`http://127.0.0.1:11434/v1`, `https://api.openai.com/v1`) or the full …/chat/completions URL.
    public required string Url { get; init; }
    public required string Model { get; init; }
    /// Sent as a bearer token; the caller reads it from an environment variable. Never written anywhere.
    public string? ApiKey { get; init; }
    public double Temperature { get; init; } = 0.5; // the seed's
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    /// Attempts after the first one, on 429, 5xx, timeouts and dropped connections.
    public int Retries { get; init; } = 5;
    /// The first wait; each retry doubles it (with jitter) unless the server sends Retry-After.
    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(2);
}

/// A client for any OpenAI-compatible chat completions endpoint (OpenAI, llama.cpp, Ollama, vLLM, …): one user
/// message in, the first choice's text out. Plain HttpClient + System.Text.Json: the whole protocol used is one
/// POST, and this keeps retries, timeouts and the key under our control (the OpenAI SDK adds its own retry layer
/// and a dependency for no gain here).
public sealed class TeacherClient(HttpClient http, TeacherOptions options)
{
    private readonly Uri endpoint = new(options.Url.TrimEnd('/').EndsWith("/chat/completions", StringComparison.Ordinal)
        ? options.Url : options.Url.TrimEnd('/') + "/chat/completions");

    /// Requests retried so far (for the summary).
    public int Retried => retried;
    private int retried;

    public async Task<string> CompleteAsync(string prompt, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = options.Model,
            ["temperature"] = options.Temperature,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        for (int attempt = 0; ; attempt++)
        {
            string failure;
            TimeSpan? retryAfter = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.Timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = JsonContent.Create(body) };
                if (!string.IsNullOrEmpty(options.ApiKey)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
                using var response = await http.SendAsync(request, timeout.Token);
                var text = await response.Content.ReadAsStringAsync(timeout.Token);
                if (response.IsSuccessStatusCode) return Content(text);
                int code = (int)response.StatusCode;
                if (code != 429 && code < 500)
                    throw new MiniGlmException($"teacher {endpoint}: HTTP {code} {response.ReasonPhrase}" +
                        (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? " (check --api_key_env)" : "") +
                        $": {Shorten(text)}");
                failure = $"HTTP {code}";
                retryAfter = response.Headers.RetryAfter?.Delta;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { failure = $"no answer within {options.Timeout.TotalSeconds:0.#} s"; }
            catch (HttpRequestException e) { failure = e.Message; }
            if (attempt >= options.Retries)
                throw new MiniGlmException($"teacher {endpoint}: {failure}, {attempt + 1} attempts; answers so far are cached, rerun to continue");
            Interlocked.Increment(ref retried);
            var wait = retryAfter ?? options.Backoff * Math.Pow(2, attempt) * (0.75 + 0.5 * Random.Shared.NextDouble());
            await Task.Delay(wait, ct);
        }
    }

    private string Content(string json)
    {
        try
        {
            var content = JsonNode.Parse(json)?["choices"]?[0]?["message"]?["content"];
            if (content is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        }
        catch (JsonException) { }
        throw new MiniGlmException($"teacher {endpoint}: expected a chat completion (choices[0].message.content), got: {Shorten(json)}");
    }

    private static string Shorten(string text) => text.Length <= 200 ? text.ReplaceLineEndings(" ") : text[..200].ReplaceLineEndings(" ") + "…";
}
