using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Evaluation;

/// What one QA file held: its good items in file order and each bad line as `FILE:LINE: reason`.
public sealed record QaFile
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("sha256")] public required string Sha256 { get; init; }
    [JsonPropertyName("lines")] public int Lines { get; init; }
    /// Questions evaluated (after --limit).
    [JsonPropertyName("items")] public int ItemCount => Items.Count;
    [JsonPropertyName("malformed")] public int Malformed => Problems.Count;
    [JsonPropertyName("problems")] public IReadOnlyList<string> Problems { get; init; } = [];
    [JsonIgnore] public IReadOnlyList<QaItem> Items { get; init; } = [];
}

/// Reads QA files in the shared contract: one JSON object per line, {"Question", "Answer", "Type"?, "Key"?}, also
/// spelled in lower case as prepare-sft accepts, or a conversation {"messages": [{"role": "user"|"assistant",
/// "content"}, …], "Type"?, "Key"?} whose last user message is the question, the assistant message after it the
/// reference answer, and the exchanges before them the history (Type and Key are the last question's). A malformed
/// line is recorded and skipped, never fatal: one bad line must not cost a long evaluation.
public static class QaReader
{
    public static QaFile Read(string path, int? limit = null)
    {
        var (bytes, text) = JsonLinesText.Read(path, "QA file");
        var items = new List<QaItem>();
        var problems = new List<string>();
        var lines = text.Split('\n');
        int read = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            read++;
            var (item, problem) = Parse(line, path, i + 1);
            if (item is not null) items.Add(item);
            else problems.Add($"{path}:{i + 1}: {problem}");
        }
        if (items.Count == 0 && problems.Count == 0) throw new MiniGlmException($"{path}: no questions in the file (expected JSON Lines of {{\"Question\", \"Answer\"}})");
        return new QaFile { Path = path, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)), Lines = read, Items = Spread(items, limit), Problems = problems };
    }

    /// At most <paramref name="limit"/> items taken in turn from each question type (file order within a type), so
    /// a short run of a file grouped by type still covers every type.
    private static IReadOnlyList<QaItem> Spread(List<QaItem> items, int? limit)
    {
        if (limit is null || items.Count <= limit) return items;
        var queues = items.GroupBy(i => i.Type ?? "").Select(g => new Queue<QaItem>(g)).ToList();
        var taken = new List<QaItem>();
        while (taken.Count < limit)
            foreach (var q in queues.Where(q => q.Count > 0))
                if (taken.Count < limit) taken.Add(q.Dequeue());
        return taken;
    }

    private static (QaItem?, string?) Parse(string line, string file, int number)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { return (null, $"bad JSON: {e.Message.Split('\n')[0]}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, $"not a JSON object (got a {root.ValueKind.ToString().ToLowerInvariant()})");
            string? Field(string name, out string? error)
            {
                error = null;
                foreach (var spelling in new[] { name, name.ToLowerInvariant() })
                    if (root.TryGetProperty(spelling, out var v))
                    {
                        if (v.ValueKind == JsonValueKind.String) return v.GetString();
                        if (v.ValueKind != JsonValueKind.Null) error = $"\"{name}\" must be a string, got {v.ValueKind.ToString().ToLowerInvariant()}";
                        return null;
                    }
                return null;
            }
            var type = Field("Type", out var e3);
            var key = Field("Key", out var e4);
            if ((e3 ?? e4) is { } typeError) return (null, typeError);
            type = string.IsNullOrWhiteSpace(type) ? null : type;
            key = string.IsNullOrWhiteSpace(key) ? null : key;
            if (root.TryGetProperty("messages", out var messages)) return Conversation(messages, type, key, file, number);
            var question = Field("Question", out var e1);
            var answer = Field("Answer", out var e2);
            if ((e1 ?? e2) is { } error) return (null, error);
            if (string.IsNullOrWhiteSpace(question)) return (null, "missing or empty \"Question\" (or \"messages\")");
            if (string.IsNullOrWhiteSpace(answer)) return (null, "missing or empty \"Answer\"");
            return (new QaItem(question, answer, type, key, file, number), null);
        }
    }

    /// user, assistant, user, assistant, …: the last pair is the question and its reference, the rest the history.
    private static (QaItem?, string?) Conversation(JsonElement messages, string? type, string? key, string file, int number)
    {
        if (messages.ValueKind != JsonValueKind.Array) return (null, "\"messages\" must be an array");
        var texts = new List<string>();
        foreach (var m in messages.EnumerateArray())
        {
            string expected = texts.Count % 2 == 0 ? "user" : "assistant";
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                return (null, $"message {texts.Count} must be {{\"role\": string, \"content\": string}}");
            if (role.GetString() != expected) return (null, $"message {texts.Count} is \"{role.GetString()}\" where \"{expected}\" was expected (user and assistant alternate)");
            if (string.IsNullOrWhiteSpace(content.GetString())) return (null, $"message {texts.Count} is empty");
            texts.Add(content.GetString()!);
        }
        if (texts.Count == 0 || texts.Count % 2 != 0) return (null, "\"messages\" must end with the assistant's reference answer to the last user message");
        var history = Enumerable.Range(0, texts.Count / 2 - 1).Select(i => new Exchange(texts[2 * i], texts[2 * i + 1])).ToList();
        return (new QaItem(texts[^2], texts[^1], type, key, file, number) { History = history }, null);
    }
}
