using MiniGlm.Remote;

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

/// The teacher: any OpenAI-compatible chat completions endpoint (OpenAI, llama.cpp, Ollama, vLLM, our serve),
/// asked through <see cref="ChatEndpoint"/> (the official OpenAI library with our retries, backoff and messages):
/// one user message in, the first choice's text out.
public sealed class TeacherClient(HttpClient http, TeacherOptions options)
{
    private readonly ChatEndpoint endpoint = new(new ChatEndpointOptions
    {
        Url = options.Url, Model = options.Model, ApiKey = options.ApiKey, Temperature = options.Temperature,
        Timeout = options.Timeout, Retries = options.Retries, Backoff = options.Backoff,
        Role = "teacher", KeyHint = "check --api_key_env", AfterRetries = "answers so far are cached, rerun to continue",
    }, http);

    /// Requests retried so far (for the summary).
    public int Retried => endpoint.Retried;

    public async Task<string> CompleteAsync(string prompt, CancellationToken ct) => (await endpoint.CompleteAsync(prompt, ct)).Text;
}
