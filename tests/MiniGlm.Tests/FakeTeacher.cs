using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace MiniGlm.Tests;

/// A real OpenAI-compatible chat completions server on loopback (HttpListener). For each request the test's
/// handler gets the request number and the numbered questions of the prompt, and says what to send back.
public sealed class FakeTeacher : IDisposable
{
    public sealed record Reply(int Status, string? Content = null, TimeSpan Delay = default, string? RawBody = null);

    private readonly HttpListener listener = new();
    private readonly Func<int, IReadOnlyList<string>, Reply>? handler;
    private readonly Func<int, string, Reply>? byPrompt;
    private int requests;

    public string Url { get; }
    /// Every question received, in arrival order, once per request that carried it.
    public ConcurrentQueue<string> Asked { get; } = new();
    public ConcurrentQueue<string?> Authorization { get; } = new();
    public int Requests => requests;

    public FakeTeacher(Func<int, IReadOnlyList<string>, Reply> handler) : this() => this.handler = handler;

    /// A server whose handler reads the whole prompt (a judge's).
    public static FakeTeacher ByPrompt(Func<int, string, Reply> handler) => new(handler, 0);

    private FakeTeacher(Func<int, string, Reply> byPrompt, int _) : this() => this.byPrompt = byPrompt;

    private FakeTeacher()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/v1";
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        _ = Task.Run(Loop);
    }

    /// Answers every question as "答案：<question>" in a numbered list.
    public static Reply Numbered(IReadOnlyList<string> questions) =>
        new(200, string.Concat(questions.Select((q, i) => $"{i + 1}. 答案：{q}\n")));

    private async Task Loop()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            _ = Task.Run(() => Serve(context));
        }
    }

    private async Task Serve(HttpListenerContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
            var prompt = body["messages"]![0]!["content"]!.GetValue<string>();
            var questions = prompt.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(\d+)\. (.+)$"))
                .Where(m => m.Success).Select(m => m.Groups[2].Value).ToList();
            foreach (var q in questions) Asked.Enqueue(q);
            Authorization.Enqueue(context.Request.Headers["Authorization"]);
            int n = Interlocked.Increment(ref requests);
            var reply = byPrompt is not null ? byPrompt(n, prompt) : handler!(n, questions);
            if (reply.Delay > TimeSpan.Zero) await Task.Delay(reply.Delay);
            context.Response.StatusCode = reply.Status;
            if (reply.Status == 429) context.Response.AddHeader("Retry-After", "0");
            var json = reply.RawBody ?? new JsonObject
            {
                ["id"] = $"chatcmpl-{n}", ["object"] = "chat.completion", ["created"] = 0, ["model"] = "fake",
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["finish_reason"] = "stop",
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content ?? "" },
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = prompt.Length, ["completion_tokens"] = (reply.Content ?? "").Length, ["total_tokens"] = prompt.Length + (reply.Content ?? "").Length },
            }.ToJsonString();
            var bytes = Encoding.UTF8.GetBytes(json);
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception) { try { context.Response.Abort(); } catch (Exception) { } } // the client gave up (timeout)
    }

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
    }
}
