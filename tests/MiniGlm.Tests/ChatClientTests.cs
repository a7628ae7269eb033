using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using MiniGlm.Generation;
using MiniGlm.Serving;

namespace MiniGlm.Tests;

/// <see cref="MiniGlmChatClient"/>: Microsoft.Extensions.AI's IChatClient over a checkpoint loaded in process.
public class ChatClientTests
{
    private static ChatOptions Greedy(int tokens) => new() { Temperature = 0, MaxOutputTokens = tokens };

    [Fact]
    public async Task Streams_the_answer_the_server_would_give_with_usage_and_finish_reason()
    {
        using var dir = new TempDir();
        var ckpt = TinyCheckpoint.Create(dir["sft"], ChatTemplate.Seed, blockSize: 64, maxTurns: 4);
        using var client = MiniGlmChatClient.Load(ckpt);
        Assert.True(client.IsChatModel);
        Assert.Equal("sft", client.ModelId);
        Assert.Equal("sft", client.GetService<ChatClientMetadata>()!.DefaultModelId);

        List<Microsoft.Extensions.AI.ChatMessage> messages =
            [new(ChatRole.System, "你是诗人"), new(ChatRole.User, "床前明月光"), new(ChatRole.Assistant, "疑是地上霜"), new(ChatRole.User, "下一句呢")];
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(messages, Greedy(12))) updates.Add(u);
        Assert.True(updates.Count >= 2, "the answer came in one piece, not streamed");
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        var usage = last.Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(12, usage.OutputTokenCount);

        // The same prompt and sampling as serve's worker: the same tokens, counted the same.
        using var model = LoadedModel.Load(ckpt);
        var prompt = ChatPrompt.Chat(PromptBudget.For(model),
            [new("system", "你是诗人"), new("user", "床前明月光"), new("assistant", "疑是地上霜"), new("user", "下一句呢")], 12);
        Assert.Equal(prompt.Count, usage.InputTokenCount);
        var expected = string.Concat(model.Generator.Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 12 }).Select(s => s.Text[0]));
        Assert.Equal(expected, string.Concat(updates.Select(u => u.Text)));

        // The whole response is the stream merged, usage included.
        var response = await client.GetResponseAsync(messages, Greedy(12));
        Assert.Equal(expected, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(12, response.Usage!.OutputTokenCount);
        Assert.Equal(prompt.Count + 12, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Options_map_to_sampling_stop_strings_cut_and_bad_values_are_refused()
    {
        using var dir = new TempDir();
        using var client = MiniGlmChatClient.Load(TinyCheckpoint.Create(dir["m"], ChatTemplate.Seed));
        var full = (await client.GetResponseAsync("春眠不觉晓", Greedy(20))).Text;
        Assert.True(full.Length >= 4, $"answer too short to cut: '{full}'");
        var stop = full.Substring(full.Length / 2, 2);
        var cut = await client.GetResponseAsync("春眠不觉晓", new ChatOptions { Temperature = 0, MaxOutputTokens = 20, StopSequences = [stop] });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);

        // A seed makes sampling repeatable; top_k 1 is greedy whatever the temperature.
        var seeded = new ChatOptions { Temperature = 1.5f, TopP = 0.95f, Seed = 7, MaxOutputTokens = 20 };
        Assert.Equal((await client.GetResponseAsync("春眠不觉晓", seeded)).Text, (await client.GetResponseAsync("春眠不觉晓", seeded)).Text);
        Assert.Equal(full, (await client.GetResponseAsync("春眠不觉晓", new ChatOptions { Temperature = 1.5f, TopK = 1, MaxOutputTokens = 20 })).Text);

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", new ChatOptions { TopP = 2 }));
        Assert.Contains("top_p", bad.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", new ChatOptions { MaxOutputTokens = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(ChatRole.Tool, "x")]));
    }

    [Fact]
    public async Task Cancelling_or_leaving_the_stream_stops_the_generation_and_the_client_serves_on()
    {
        using var dir = new TempDir();
        using var client = MiniGlmChatClient.Load(TinyCheckpoint.Create(dir["m"], ChatTemplate.Seed));
        var endless = new ChatOptions { Temperature = 0, MaxOutputTokens = 1_000_000 };
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync("春眠不觉晓", endless, cts.Token))
                if (++pieces == 3) cts.Cancel();
        });

        // A caller that stops reading early: its generation ends too (the next answer is not stuck behind it).
        await foreach (var _ in client.GetStreamingResponseAsync("春眠不觉晓", endless)) break;
        var next = await client.GetResponseAsync("春眠不觉晓", Greedy(5)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(5, next.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task One_client_shared_by_many_callers_answers_each_as_alone()
    {
        using var dir = new TempDir();
        using var client = MiniGlmChatClient.Load(TinyCheckpoint.Create(dir["m"], ChatTemplate.Seed));
        string[] questions = ["春眠不觉晓", "a", "The quick brown fox", "床前明月光，疑是地上霜"];
        var alone = new List<string>();
        foreach (var q in questions) alone.Add((await client.GetResponseAsync(q, Greedy(15))).Text);
        var together = await Task.WhenAll(questions.Select(q => Task.Run(() => client.GetResponseAsync(q, Greedy(15)))));
        Assert.Equal(alone, together.Select(r => r.Text));
    }

    [Fact]
    public async Task Works_behind_ChatClientBuilder_middleware()
    {
        using var dir = new TempDir();
        using var inner = MiniGlmChatClient.Load(TinyCheckpoint.Create(dir["m"], ChatTemplate.Seed));
        var logs = new ListLoggerFactory();
        using var client = new ChatClientBuilder(inner).UseLogging(logs).Build();
        var text = "";
        await foreach (var u in client.GetStreamingResponseAsync("春眠不觉晓", Greedy(6))) text += u.Text;
        Assert.Equal((await inner.GetResponseAsync("春眠不觉晓", Greedy(6))).Text, text);
        Assert.Contains(logs.Lines, l => l.Contains("GetStreamingResponseAsync"));
        Assert.Same(inner, client.GetService<MiniGlmChatClient>());
    }

    /// Collects every log line at every level.
    private sealed class ListLoggerFactory : ILoggerFactory, ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => this;
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() { }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
