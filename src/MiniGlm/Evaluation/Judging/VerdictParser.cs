using System.Text.Json;
using System.Text.Json.Nodes;

namespace MiniGlm.Evaluation.Judging;

/// Reads the judge's reply. A verdict is taken only from the JSON object the rubric asks for; anything else is
/// counted as unparseable (or refused, when the server filtered it or the judge declined), never guessed.
public static class VerdictParser
{
    public const string Ok = "ok", Unparseable = "unparseable", Refused = "refused", Failed = "failed";

    private static readonly string[] RefusalMarks = ["I can't", "I cannot", "I'm sorry", "I am sorry", "I won't", "无法", "抱歉", "不能回答"];

    public static GradedVerdict Graded(string reply, string? finishReason)
    {
        if (Declined(reply, finishReason, out var status)) return new GradedVerdict { Status = status, Reply = Cut(reply) };
        foreach (var o in Objects(reply))
        {
            var verdict = Text(o["verdict"])?.Trim().ToLowerInvariant() switch
            {
                "correct" => "correct",
                "partly" or "partial" or "partially" or "partially correct" or "partly correct" => "partly",
                "wrong" or "incorrect" => "wrong",
                _ => null,
            };
            int? fluency = o["fluency"] switch
            {
                JsonValue v when v.TryGetValue<int>(out var i) => i,
                JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) => (int)d,
                JsonValue v when v.TryGetValue<string>(out var s) && int.TryParse(s.Trim(), out var i) => i,
                _ => null,
            };
            if (verdict is null || fluency is not (>= 1 and <= 5)) continue;
            return new GradedVerdict { Status = Ok, Verdict = verdict, Fluency = fluency, Reason = Text(o["reason"])?.Trim() };
        }
        return new GradedVerdict { Status = Unparseable, Reply = Cut(reply) };
    }

    /// "A", "B" or "tie" in the order the answers were shown; null with the status when there is no verdict.
    public static (string? Winner, string Status, string? Reason) Pairwise(string reply, string? finishReason)
    {
        if (Declined(reply, finishReason, out var status)) return (null, status, null);
        foreach (var o in Objects(reply))
        {
            var winner = Text(o["winner"])?.Trim().ToLowerInvariant() switch
            {
                "a" or "answer a" => "A",
                "b" or "answer b" => "B",
                "tie" or "equal" or "neither" or "both" => "tie",
                _ => null,
            };
            if (winner is not null) return (winner, Ok, Text(o["reason"])?.Trim());
        }
        return (null, Unparseable, null);
    }

    private static bool Declined(string reply, string? finishReason, out string status)
    {
        status = Refused;
        if (finishReason == "contentfilter" || finishReason == "content_filter") return true;
        if (string.IsNullOrWhiteSpace(reply)) return true;
        return !reply.Contains('{') && RefusalMarks.Any(m => reply.Contains(m, StringComparison.OrdinalIgnoreCase));
    }

    /// Every JSON object in the text, first to last (a judge may wrap it in prose or a code fence).
    private static IEnumerable<JsonObject> Objects(string text)
    {
        for (int start = text.IndexOf('{'); start >= 0; start = text.IndexOf('{', start + 1))
        {
            int depth = 0;
            bool quoted = false, escaped = false;
            for (int i = start; i < text.Length; i++)
            {
                char c = text[i];
                if (quoted)
                {
                    if (escaped) escaped = false;
                    else if (c == '\\') escaped = true;
                    else if (c == '"') quoted = false;
                    continue;
                }
                if (c == '"') quoted = true;
                else if (c == '{') depth++;
                else if (c == '}' && --depth == 0)
                {
                    JsonObject? o = null;
                    try { o = JsonNode.Parse(text[start..(i + 1)]) as JsonObject; }
                    catch (JsonException) { }
                    if (o is not null) yield return o;
                    break;
                }
            }
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Cut(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
