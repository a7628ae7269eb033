using System.Text.Json;
using System.Text.Json.Serialization;

namespace MiniGlm.Web;

/// The fields of /v1/chat/completions and /v1/completions this server reads (others are ignored, as OpenAI's
/// own server ignores unknown ones). top_k and repetition_penalty are extensions, as in vLLM and llama.cpp.
public sealed record ApiRequest
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("messages")] public List<ApiMessage>? Messages { get; init; }
    [JsonPropertyName("prompt")] public JsonElement? Prompt { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("top_k")] public int? TopK { get; init; }
    [JsonPropertyName("repetition_penalty")] public double? RepetitionPenalty { get; init; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; init; }
    [JsonPropertyName("stop")] public JsonElement? Stop { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("n")] public int? N { get; init; }
    [JsonPropertyName("stream")] public bool? Stream { get; init; }
    [JsonPropertyName("stream_options")] public ApiStreamOptions? StreamOptions { get; init; }
}

public sealed record ApiStreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; init; }
}

public sealed record ApiMessage
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    /// A string, or a list of parts of which the text ones are used.
    [JsonPropertyName("content")] public JsonElement? Content { get; init; }
}
