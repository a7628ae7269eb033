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

    /// What the caller learns about an answer once it is sent: its finish reason (stop, length, cancelled, error).
    public delegate void Finished(string reason);

    /// Takes a place in the model's queue first (429 when full), then builds the request (the prompt's encoding is
    /// the heavy part of that) and answers. An anonymous answer (an arena side) gives no prompt token count: it
    /// depends on the hidden model's tokenizer and would name it.
    public static async Task<IResult> Serve(HttpContext ctx, ModelWorker worker, string shownModel, Kind kind, ApiRequest r,
        Func<GenerationRequest> build, bool anonymous = false, Finished? finished = null)
    {
        using var slot = worker.TryReserve();
        if (slot is null) return OpenAiError.QueueFull(ctx, shownModel);
        var request = build();
        // The generation stops when the client leaves, when the server shuts down (Ctrl-C must not wait for
        // answers), and whenever this handler ends early (a failed write can end it before the abort is seen).
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        var updates = slot.Enqueue(request, cancel.Token);
        try
        {
            return await Answer(ctx, updates, anonymous ? null : request.Prompt.Count, kind, r.Stream == true, r.StreamOptions?.IncludeUsage == true,
                shownModel, finished ?? (_ => { }));
        }
        finally { cancel.Cancel(); }
    }

    private static async Task<IResult> Answer(HttpContext ctx, ChannelReader<GenerationUpdate> updates, int? promptTokens, Kind kind,
        bool stream, bool includeUsage, string shownModel, Finished finished)
    {
        var id = (kind == Kind.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var clock = Stopwatch.StartNew();
        if (!stream)
        {
            var text = new System.Text.StringBuilder();
            GenerationUpdate last = new("", 0);
            try { await foreach (var u in updates.ReadAllAsync(ctx.RequestAborted)) { text.Append(u.Text); last = u; } }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { return Results.Empty; } // the client left
            catch (Exception e) when (e is not OperationCanceledException)
            {
                finished("error");
                return OpenAiError.Result(500, Failed(e), "server_error");
            }
            finished(last.FinishReason ?? "error");
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
                finished(u.FinishReason);
                if (includeUsage) await Send(null, null, null, Usage(promptTokens, u.CompletionTokens, clock.Elapsed.TotalSeconds), noChoices: true);
            }
            await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { } // the client left
        catch (Exception e) when (e is not OperationCanceledException && !ctx.RequestAborted.IsCancellationRequested)
        {
            // The answer failed after the stream began: an error event in OpenAI's error shape, and no [DONE], so no
            // client takes the text so far for a finished answer.
            finished("error");
            var error = Json.Serialize(new { error = new { message = Failed(e), type = "server_error", param = (string?)null, code = (string?)null } });
            try { await ctx.Response.WriteAsync($"data: {error}\n\n", ctx.RequestAborted); }
            catch (Exception w) when (w is IOException or OperationCanceledException or ObjectDisposedException) { } // the client is gone too
        }
        return Results.Empty;
    }

    private static string Failed(Exception e) => $"the answer failed: {e.Message.Split('\n')[0]}";

    /// OpenAI's reasons are stop and length; an answer cut short because the client pressed Stop or the server is
    /// shutting down reports "abort", as vLLM does, so it is never mistaken for a complete answer.
    private static string Finish(string? reason) => reason switch { "length" => "length", "stop" => "stop", _ => "abort" };

    /// OpenAI's usage counts, plus the generation time so a client can show tokens/s.
    private static object Usage(int? prompt, int completion, double seconds) => new
    {
        prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion,
        generation_seconds = Math.Round(seconds, 3),
    };
}
