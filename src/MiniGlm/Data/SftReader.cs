using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MiniGlm.IO;

namespace MiniGlm.Data;

/// What SftReader found: the good examples in file order, the bad lines counted by reason, and each bad line's
/// `FILE:LINE: reason` message.
public sealed record SftReadResult(
    IReadOnlyList<SftExample> Examples, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Problems,
    IReadOnlyList<DatasetSource> Sources, int LinesRead);

/// Reads SFT data from JSON Lines. Each non-blank line is one conversation, in any of these spellings:
///   {"Question": q, "Answer": a}  or  {"question": q, "answer": a}  (optional "system"/"System")
///   {"messages": [{"role": "system"|"user"|"assistant", "content": text}, ...]}  ("conversations" works too)
///   ShareGPT: {"conversations": [{"from": "system"|"human"|"gpt", "value": text}, ...]}
/// A bad line is fatal when strict; otherwise it is skipped and counted by reason.
public static class SftReader
{
    // Reasons are fixed strings so that counts group; the message adds the detail.
    public const string BadJson = "bad JSON";
    public const string NotObject = "not a JSON object";
    public const string MissingKeys = "missing keys";
    public const string WrongType = "wrong type";
    public const string EmptyAnswer = "empty answer";
    public const string NotAlternating = "not alternating user/assistant";
    public const string UnknownRole = "unknown role";

    private sealed class BadLine(string reason, string detail) : Exception(detail)
    {
        public string Reason { get; } = reason;
    }

    public static SftReadResult Read(IEnumerable<string> files, bool strict)
    {
        var examples = new List<SftExample>();
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<string>();
        var sources = new List<DatasetSource>();
        int linesRead = 0;
        foreach (var file in files)
        {
            var (bytes, text) = JsonLinesText.Read(file, "SFT input file");
            sources.Add(new DatasetSource
            {
                Path = file, Bytes = bytes.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                Chars = text.EnumerateRunes().LongCount(),
            });
            var lines = text.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                var line = lines[i].TrimEnd('\r');
                if (string.IsNullOrWhiteSpace(line)) continue;
                linesRead++;
                try { examples.Add(Parse(line) with { File = file, Line = i + 1 }); }
                catch (BadLine bad)
                {
                    var message = $"{file}:{i + 1}: {bad.Reason}: {bad.Message}";
                    if (strict) throw new MiniGlmException(message);
                    problems.Add(message);
                    skipped[bad.Reason] = skipped.GetValueOrDefault(bad.Reason) + 1;
                }
            }
        }
        return new SftReadResult(examples, skipped, problems, sources, linesRead);
    }

    /// Parses one JSON line into a conversation, or throws BadLine.
    private static SftExample Parse(string line)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new BadLine(BadJson, e.Message.Split('\n')[0]); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new BadLine(NotObject, $"got a JSON {root.ValueKind.ToString().ToLowerInvariant()}");
            if (TryGet(root, out var messages, "messages", "conversations")) return ParseMessages(messages);
            var hasQ = TryGet(root, out var q, "Question", "question");
            var hasA = TryGet(root, out var a, "Answer", "answer");
            if (!hasQ || !hasA)
                throw new BadLine(MissingKeys, "expected \"Question\" and \"Answer\", \"question\" and \"answer\", or \"messages\"/\"conversations\"");
            string? system = TryGet(root, out var s, "system", "System") ? Str(s, "system") : null;
            return Validate([(Str(q, "question"), Str(a, "answer"))], system);
        }
    }

    private static SftExample ParseMessages(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array) throw new BadLine(WrongType, "\"messages\" must be an array");
        string? system = null, user = null;
        var turns = new List<(string, string)>();
        int index = 0;
        foreach (var m in messages.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object) throw new BadLine(WrongType, $"message {index} must be an object");
            if (!TryGet(m, out var roleEl, "role", "from")) throw new BadLine(MissingKeys, $"message {index} has no \"role\" (or \"from\")");
            if (!TryGet(m, out var contentEl, "content", "value")) throw new BadLine(MissingKeys, $"message {index} has no \"content\" (or \"value\")");
            var role = Str(roleEl, "role");
            var content = Str(contentEl, "content");
            switch (role)
            {
                case "system" when index == 0: system = content; break;
                case "user" or "human" when user is null: user = content; break;
                case "assistant" or "gpt" when user is not null: turns.Add((user, content)); user = null; break;
                case "system" or "user" or "human" or "assistant" or "gpt":
                    throw new BadLine(NotAlternating, $"message {index} is \"{role}\" where {(user is null ? "a user message" : "an assistant message")} was expected");
                default: throw new BadLine(UnknownRole, $"message {index} has role \"{role}\" (expected system, user/human or assistant/gpt)");
            }
            index++;
        }
        if (user is not null) throw new BadLine(NotAlternating, "the conversation ends with a user message; expected an assistant answer last");
        if (turns.Count == 0) throw new BadLine(MissingKeys, "no user/assistant exchange in the messages");
        return Validate(turns, system);
    }

    private static SftExample Validate(List<(string User, string Assistant)> turns, string? system)
    {
        for (int i = 0; i < turns.Count; i++)
            if (string.IsNullOrWhiteSpace(turns[i].Assistant))
                throw new BadLine(EmptyAnswer, turns.Count == 1 ? "the answer is empty" : $"answer {i + 1} is empty");
        return new SftExample(turns.Select(t => new SftTurn(t.User, t.Assistant)).ToList(), string.IsNullOrEmpty(system) ? null : system);
    }

    private static bool TryGet(JsonElement obj, out JsonElement value, params string[] names)
    {
        foreach (var name in names)
            if (obj.TryGetProperty(name, out value)) return true;
        value = default;
        return false;
    }

    private static string Str(JsonElement e, string what) => e.ValueKind == JsonValueKind.String
        ? e.GetString()!
        : throw new BadLine(WrongType, $"\"{what}\" must be a string, got {e.ValueKind.ToString().ToLowerInvariant()}");
}
