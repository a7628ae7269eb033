using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Questions;

/// Writes QA JSON Lines, Chinese left readable, atomically: single questions as {"Question","Answer","Type","Key"},
/// conversations as {"messages":[{"role":"user",…},{"role":"assistant",…},…],"Type","Key"} with the last turn's
/// type and key. Evaluation.QaReader reads both back (and prepare-sft trains on both).
public static class QaWriter
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Write(string path, IEnumerable<QaPair> items) => Lines(path, items.Select(item => JsonSerializer.Serialize(item, Json)));

    public static void Write(string path, IEnumerable<Conversation> conversations) => Lines(path, conversations.Select(c =>
        JsonSerializer.Serialize(new Messages(
            c.Turns.SelectMany(t => new[] { new Message("user", t.Question), new Message("assistant", t.Answer) }).ToList(),
            c.Turns[^1].Type, c.Turns[^1].Key), Json)));

    private static void Lines(string path, IEnumerable<string> lines) => AtomicFile.Write(path, tmp =>
    {
        using var w = new StreamWriter(tmp, false, new System.Text.UTF8Encoding(false));
        foreach (var line in lines) w.Write(line + "\n");
    });

    private sealed record Message([property: JsonPropertyName("role")] string Role, [property: JsonPropertyName("content")] string Content);

    private sealed record Messages([property: JsonPropertyName("messages")] List<Message> Turns, string? Type, string? Key);
}
