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

    public static async Task<ApiRequest> Read(HttpContext ctx)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<ApiRequest>(ctx.Request.Body, cancellationToken: ctx.RequestAborted)
                   ?? throw new Invalid("the request body must be a JSON object", null);
        }
        catch (JsonException e) { throw new Invalid($"the request body is not valid JSON: {e.Message}", null); }
    }

    public static List<ChatMessage> Messages(ApiRequest r)
    {
        if (r.Messages is not { Count: > 0 }) throw new Invalid("messages must be a non-empty list", "messages");
        var list = new List<ChatMessage>();
        foreach (var m in r.Messages)
        {
            if (m.Role is not ("system" or "developer" or "user" or "assistant"))
                throw new Invalid($"unsupported role '{m.Role}' (use system, user or assistant)", "messages");
            list.Add(new ChatMessage(m.Role, Text(m.Content)));
        }
        return list;
    }

    public static string Prompt(ApiRequest r) => r.Prompt switch
    {
        { ValueKind: JsonValueKind.String } p => p.GetString()!,
        { ValueKind: JsonValueKind.Array } p when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String => p[0].GetString()!,
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
        catch (MiniGlmException e) { throw new Invalid(e.Message, null); }
        return new GenerationRequest(prompt(PromptBudget.For(worker.Model), maxTokens), options, Stops(r.Stop));
    }

    private static List<string> Stops(JsonElement? stop)
    {
        var list = stop switch
        {
            null or { ValueKind: JsonValueKind.Null } => [],
            { ValueKind: JsonValueKind.String } s => [s.GetString()!],
            { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                a.EnumerateArray().Select(e => e.GetString()!).ToList(),
            _ => throw new Invalid("stop must be a string or a list of strings", "stop"),
        };
        if (list.Count > 4) throw new Invalid("stop takes at most 4 strings", "stop");
        return list.Where(s => s.Length > 0).ToList();
    }

    private static string Text(JsonElement? content) => content switch
    {
        null or { ValueKind: JsonValueKind.Null } => "",
        { ValueKind: JsonValueKind.String } s => s.GetString()!,
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) && t.GetString() == "text")
            .Select(p => p.TryGetProperty("text", out var x) ? x.GetString() : "")),
        _ => throw new Invalid("message content must be a string or a list of text parts", "messages"),
    };
}
