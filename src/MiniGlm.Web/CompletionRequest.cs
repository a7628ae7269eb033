using System.Text.Json;
using MiniGlm.Generation;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// Turns an API request body into a generation request for one model, checking every field the way OpenAI
/// does (400 with the offending `param`).
public static class CompletionRequest
{
    public sealed class Invalid(string message, string? param) : Exception(message)
    {
        public string? Param => param;
    }

    /// Stop strings OpenAI allows, and how long each may be here (each is searched for after every token).
    public const int MaxStops = 4, MaxStopChars = 128;

    /// The body as T (an ApiRequest, or an arena vote).
    public static async Task<T> Read<T>(HttpContext ctx) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(ctx.Request.Body, cancellationToken: ctx.RequestAborted)
                   ?? throw new Invalid("the request body must be a JSON object", null);
        }
        catch (JsonException e) { throw new Invalid($"the request body is not valid JSON for this request: {e.Message}", e.Path); }
        catch (InvalidOperationException e) { throw new Invalid($"the request body holds text that is not valid Unicode: {e.Message}", null); }
    }

    public static Task<ApiRequest> Read(HttpContext ctx) => Read<ApiRequest>(ctx);

    public static List<ChatMessage> Messages(ApiRequest r)
    {
        if (r.Messages is not { Count: > 0 }) throw new Invalid("messages must be a non-empty list", "messages");
        var list = new List<ChatMessage>();
        foreach (var m in r.Messages)
        {
            if (m is null) throw new Invalid("each message must be an object with a role and content, got null", "messages");
            if (m.Role is not ("system" or "developer" or "user" or "assistant"))
                throw new Invalid($"unsupported role '{m.Role}' (use system, user or assistant)", "messages");
            list.Add(new ChatMessage(m.Role, Text(m.Content)));
        }
        return list;
    }

    public static string Prompt(ApiRequest r) => r.Prompt switch
    {
        { ValueKind: JsonValueKind.String } p => Str(p, "prompt"),
        { ValueKind: JsonValueKind.Array } p when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String => Str(p[0], "prompt"),
        _ => throw new Invalid("prompt must be a string (or a list of one string)", "prompt"),
    };

    /// The request for <paramref name="worker"/>; <paramref name="prompt"/> makes the prompt tokens for the
    /// answer's max_tokens (the room left for the answer decides how much prompt fits).
    public static GenerationRequest Build(ApiRequest r, Func<PromptBudget, int, List<int>> prompt, ModelWorker worker, ServeOptions limits)
    {
        if (r.N is { } n && n != 1) throw new Invalid("only n=1 is supported", "n");
        int maxTokens = r.MaxCompletionTokens ?? r.MaxTokens ?? limits.DefaultMaxTokens;
        if (maxTokens < 1) throw new Invalid($"max_tokens must be at least 1, got {maxTokens}", "max_tokens");
        maxTokens = Math.Min(maxTokens, limits.MaxTokensCeiling);
        var d = SamplingOptions.For(worker.Template);
        var options = new SamplingOptions
        {
            MaxNewTokens = maxTokens,
            Temperature = r.Temperature ?? d.Temperature,
            TopP = r.TopP ?? d.TopP,
            TopK = r.TopK ?? d.TopK,
            RepetitionPenalty = r.RepetitionPenalty ?? d.RepetitionPenalty,
            Seed = r.Seed is { } s ? (int)(s & int.MaxValue) : Random.Shared.Next(),
        };
        try { options.Validated(); }
        catch (MiniGlmException e) { throw new Invalid(e.Message, e.Message.Split(' ')[0]); } // the message starts with the key
        return new GenerationRequest(prompt(PromptBudget.For(worker.Model), maxTokens), options, Stops(r.Stop));
    }

    private static List<string> Stops(JsonElement? stop)
    {
        var list = stop switch
        {
            null or { ValueKind: JsonValueKind.Null } => [],
            { ValueKind: JsonValueKind.String } s => [Str(s, "stop")],
            { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                a.EnumerateArray().Select(e => Str(e, "stop")).ToList(),
            _ => throw new Invalid("stop must be a string or a list of strings", "stop"),
        };
        if (list.Count > MaxStops) throw new Invalid($"stop takes at most {MaxStops} strings", "stop");
        if (list.Any(x => x.Length > MaxStopChars)) throw new Invalid($"each stop string may be at most {MaxStopChars} characters", "stop");
        return list.Where(s => s.Length > 0).ToList();
    }

    private static string Text(JsonElement? content) => content switch
    {
        null or { ValueKind: JsonValueKind.Null } => "",
        { ValueKind: JsonValueKind.String } s => Str(s, "messages"),
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray().Select(TextPart)),
        _ => throw new Invalid("message content must be a string or a list of text parts", "messages"),
    };

    /// A content part's text; parts of other types (images, audio) are skipped.
    private static string TextPart(JsonElement part)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new Invalid("each content part must be an object with a string \"type\"", "messages");
        if (Str(type, "messages") != "text") return "";
        return part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? Str(text, "messages")
            : throw new Invalid("a text content part needs a string \"text\"", "messages");
    }

    /// A JSON string as .NET text; JSON may escape half a surrogate pair ("\ud800"), which is no text at all.
    private static string Str(JsonElement e, string param)
    {
        try { return e.GetString()!; }
        catch (InvalidOperationException) { throw new Invalid($"{param} holds a lone UTF-16 surrogate escape, which is not text", param); }
    }
}
