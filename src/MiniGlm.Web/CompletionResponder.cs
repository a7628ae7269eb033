using System.Diagnostics;
using System.Threading.Channels;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// Queues a generation on its model and answers in OpenAI's format: one JSON object, or server-sent events
/// (`data: {chunk}` … `data: [DONE]`). The request's abort token goes with the job, so a client that hangs up
/// stops its generation after the current token.
public static class CompletionResponder
{
    public enum Kind { Chat, Text }

    public static async Task<IResult> Respond(HttpContext ctx, ModelWorker worker, GenerationRequest request, Kind kind,
        bool stream, bool includeUsage, string shownModel)
    {
        // The generation stops when the client leaves, when the server shuts down (Ctrl-C must not wait for
        // answers), and whenever this handler ends early (a failed write can end it before the abort is seen).
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        try { return await Answer(ctx, worker, request, kind, stream, includeUsage, shownModel, cancel.Token); }
        finally { cancel.Cancel(); }
    }

    private static async Task<IResult> Answer(HttpContext ctx, ModelWorker worker, GenerationRequest request, Kind kind,
        bool stream, bool includeUsage, string shownModel, CancellationToken cancel)
    {
        var updates = worker.TryEnqueue(request, cancel);
        if (updates is null) return OpenAiError.QueueFull(ctx, shownModel);
        var id = (kind == Kind.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var clock = Stopwatch.StartNew();
        int promptTokens = request.Prompt.Count;
        if (!stream)
        {
            var text = new System.Text.StringBuilder();
            GenerationUpdate last = new("", 0);
            try { await foreach (var u in updates.ReadAllAsync(ctx.RequestAborted)) { text.Append(u.Text); last = u; } }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { return Results.Empty; } // the client left
            var usage = Usage(promptTokens, last.CompletionTokens, clock.Elapsed.TotalSeconds);
            var finish = Finish(last.FinishReason);
            object choice = kind == Kind.Chat
                ? new { index = 0, message = new { role = "assistant", content = text.ToString() }, finish_reason = finish, logprobs = (object?)null }
                : new { index = 0, text = text.ToString(), finish_reason = finish, logprobs = (object?)null };
            return Results.Text(Json.Serialize(new
            {
                id, @object = kind == Kind.Chat ? "chat.completion" : "text_completion", created, model = shownModel,
                choices = new[] { choice }, usage,
            }), "application/json");
        }

        ctx.Response.Headers.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted); // headers now, even while the request waits in the queue
        string objectName = kind == Kind.Chat ? "chat.completion.chunk" : "text_completion";
        async Task Send(object? delta, string? text, string? finish, object? usage = null, bool noChoices = false)
        {
            object choice = kind == Kind.Chat
                ? new { index = 0, delta, finish_reason = finish, logprobs = (object?)null }
                : new { index = 0, text, finish_reason = finish, logprobs = (object?)null };
            var chunk = Json.Serialize(new { id, @object = objectName, created, model = shownModel, choices = noChoices ? [] : new[] { choice }, usage });
            await ctx.Response.WriteAsync($"data: {chunk}\n\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }

        try
        {
            if (kind == Kind.Chat) await Send(new { role = "assistant", content = "" }, null, null);
            await foreach (var u in updates.ReadAllAsync(ctx.RequestAborted))
            {
                if (u.Text.Length > 0) await Send(new { content = u.Text }, u.Text, null);
                if (u.FinishReason is null) continue;
                await Send(new { }, "", Finish(u.FinishReason));
                if (includeUsage) await Send(null, null, null, Usage(promptTokens, u.CompletionTokens, clock.Elapsed.TotalSeconds), noChoices: true);
            }
            await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { } // the client left
        return Results.Empty;
    }

    /// A cancelled answer can only be seen by a client that stopped reading a stream; "stop" is OpenAI's nearest.
    private static string Finish(string? reason) => reason == "length" ? "length" : "stop";

    /// OpenAI's usage counts, plus the generation time so a client can show tokens/s.
    private static object Usage(int prompt, int completion, double seconds) => new
    {
        prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion,
        generation_seconds = Math.Round(seconds, 3),
    };
}
