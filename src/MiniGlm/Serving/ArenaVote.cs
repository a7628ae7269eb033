using System.Text.Json.Serialization;

namespace MiniGlm.Serving;

/// One arena verdict: which of two anonymous models answered better. Winner is "a", "b", "tie" or "both_bad".
public sealed record ArenaVote
{
    [JsonPropertyName("time")] public DateTimeOffset Time { get; init; }
    [JsonPropertyName("battle")] public required string Battle { get; init; }
    [JsonPropertyName("model_a")] public required string ModelA { get; init; }
    [JsonPropertyName("model_b")] public required string ModelB { get; init; }
    [JsonPropertyName("winner")] public required string Winner { get; init; }
    [JsonPropertyName("prompt")] public string Prompt { get; init; } = "";

    public static readonly string[] Verdicts = ["a", "b", "tie", "both_bad"];
}
