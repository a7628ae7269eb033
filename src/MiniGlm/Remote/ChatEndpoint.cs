using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using OpenAI;
using OpenAI.Chat;

namespace MiniGlm.Remote;

/// Where an OpenAI-compatible chat model is and how patiently to ask it.
public sealed record ChatEndpointOptions
{
    /// The API base (`http://127.0.0.1:11434/v1`, `https://api.openai.com/v1`) or the full …/chat/completions URL.
    public required string Url { get; init; }
    public required string Model { get; init; }
    /// Sent as a bearer token; the caller reads it from an environment variable. Never written anywhere.
    public string? ApiKey { get; init; }
    public double Temperature { get; init; }
    /// The reply's length in tokens; null leaves it to the server.
    public int? MaxOutputTokens { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    /// Attempts after the first one, on 429, 5xx, timeouts and dropped connections.
    public int Retries { get; init; } = 5;
    /// The first wait; each retry doubles it (with jitter) unless the server sends Retry-After.
    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(2);
    /// How the endpoint is named in messages ("teacher", "judge").
    public string Role { get; init; } = "model";
    /// What to check when the server refuses the key (401, 403), e.g. "check --api_key_env".
    public string? KeyHint { get; init; }
    /// Said after the last failed attempt, e.g. that a rerun continues.
    public string? AfterRetries { get; init; }
}

/// One reply: its text, why it ended (stop, length, content_filter, …) and its token counts (0 when the server
/// sends none).
public sealed record ChatReply(string Text, string? FinishReason, int PromptTokens, int CompletionTokens);

/// A client for any OpenAI-compatible chat completions endpoint (OpenAI, llama.cpp, Ollama, vLLM, our `serve`)
/// through the official OpenAI .NET library: one user message in, the first choice out. The library's own retries
/// are off; ours retry 429, 5xx, timeouts and dropped connections with exponential backoff (Retry-After obeyed),
/// and every failure ends in one line that names the endpoint.
public sealed class ChatEndpoint
{
    private readonly ChatEndpointOptions options;
    private readonly ChatClient client;

    public ChatEndpoint(ChatEndpointOptions options, HttpClient? http = null)
    {
        this.options = options;
        Endpoint = BaseOf(options.Url);
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = Endpoint, RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = System.Threading.Timeout.InfiniteTimeSpan, // ours, per attempt, below
        };
        if (http is not null) clientOptions.Transport = new HttpClientPipelineTransport(http);
        // A local server needs no key; the library needs one to send, and servers without keys ignore it.
        client = new ChatClient(options.Model, new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "no-key" : options.ApiKey), clientOptions);
    }

    /// The API base requests go to (…/v1).
    public Uri Endpoint { get; }

    /// Requests retried so far.
    public int Retried => retried;
    private int retried;

    /// The reply to one user message; a MiniGlmException (one line) when the server refuses the request or keeps
    /// failing after the retries.
    public async Task<ChatReply> CompleteAsync(string prompt, CancellationToken ct)
    {
        var request = new ChatCompletionOptions { Temperature = (float)options.Temperature };
        if (options.MaxOutputTokens is { } max) request.MaxOutputTokenCount = max;
        ChatMessage[] messages = [new UserChatMessage(prompt)];
        for (int attempt = 0; ; attempt++)
        {
            string failure;
            TimeSpan? retryAfter = null;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.Timeout);
            try
            {
                ChatCompletion completion = await client.CompleteChatAsync(messages, request, timeout.Token);
                var text = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));
                return new ChatReply(text, Reason(completion), completion.Usage?.InputTokenCount ?? 0, completion.Usage?.OutputTokenCount ?? 0);
            }
            catch (ClientResultException e) when (e.Status is > 0 and not 429 and < 500)
            {
                throw new MiniGlmException($"{options.Role} {Endpoint}: HTTP {e.Status}" +
                    (e.Status is 401 or 403 && options.KeyHint is not null ? $" ({options.KeyHint})" : "") +
                    $": {Shorten(e.GetRawResponse()?.Content.ToString() ?? e.Message)}");
            }
            catch (ClientResultException e)
            {
                failure = e.Status == 0 ? FirstLine(e.InnerException?.Message ?? e.Message) : $"HTTP {e.Status}";
                retryAfter = RetryAfter(e.GetRawResponse());
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { failure = $"no answer within {options.Timeout.TotalSeconds:0.#} s"; }
            catch (HttpRequestException e) { failure = FirstLine(e.Message); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // 200 with a body that is no chat completion (an HTML page, a proxy's error, garbage).
                throw new MiniGlmException($"{options.Role} {Endpoint}: the reply is not a chat completion ({FirstLine(e.Message)})");
            }
            if (attempt >= options.Retries)
                throw new MiniGlmException($"{options.Role} {Endpoint}: {failure}, {attempt + 1} attempts" + (options.AfterRetries is null ? "" : $"; {options.AfterRetries}"));
            Interlocked.Increment(ref retried);
            var wait = retryAfter ?? options.Backoff * Math.Pow(2, attempt) * (0.75 + 0.5 * Random.Shared.NextDouble());
            await Task.Delay(wait, ct);
        }
    }

    /// `…/v1/chat/completions` → `…/v1`: the library adds the path.
    private static Uri BaseOf(string url)
    {
        var trimmed = url.TrimEnd('/');
        if (trimmed.EndsWith("/chat/completions", StringComparison.Ordinal)) trimmed = trimmed[..^"/chat/completions".Length];
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new MiniGlmException($"'{url}' is not an http(s) URL (expected e.g. http://127.0.0.1:11434/v1)");
        return uri;
    }

    private static string? Reason(ChatCompletion c)
    {
        try { return c.FinishReason.ToString().ToLowerInvariant(); }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException or KeyNotFoundException) { return null; } // a server that sends none
    }

    private static TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is null || !response.Headers.TryGetValue("Retry-After", out var value)) return null;
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? TimeSpan.FromSeconds(Math.Min(seconds, 300)) : null;
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    internal static string Shorten(string text) => text.Length <= 200 ? text.ReplaceLineEndings(" ") : text[..200].ReplaceLineEndings(" ") + "…";
}
