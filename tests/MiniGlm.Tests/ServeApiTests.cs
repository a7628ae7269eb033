#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using MiniGlm.Web;
using OpenAI;
using OpenAI.Chat;

namespace MiniGlm.Tests;

/// The OpenAI-compatible API of `serve`, driven over real HTTP, with the official OpenAI .NET client where it applies.
public class ServeApiTests
{
    private static ChatClient Client(ServerUnderTest s, string model = "chat", string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(s.Address, "v1") });

    private static StringContent Body(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Json)> Post(ServerUnderTest s, string path, object body)
    {
        using var res = await s.Http.PostAsync(path, Body(body));
        return (res.StatusCode, JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task OpenAiClient_chats_with_and_without_streaming_and_both_give_the_same_text()
    {
        await using var s = new ServerUnderTest();
        var client = Client(s);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Seed = 7, Temperature = 1f };
        ChatMessage[] messages = [new UserChatMessage("床前明月光的下一句是什么？")];

        ChatCompletion whole = await client.CompleteChatAsync(messages, options);
        Assert.Equal(ChatMessageRole.Assistant, whole.Role);
        Assert.InRange(whole.Usage.OutputTokenCount, 1, 12);
        Assert.True(whole.Usage.InputTokenCount > 5);
        Assert.Equal(whole.Usage.InputTokenCount + whole.Usage.OutputTokenCount, whole.Usage.TotalTokenCount);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var u in client.CompleteChatStreamingAsync(messages, options))
        {
            updates++;
            foreach (var part in u.ContentUpdate) streamed.Append(part.Text);
            usage ??= u.Usage;
            finish ??= u.FinishReason;
        }
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.True(updates > 2, "the answer should arrive in several chunks");
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Models_are_listed_and_a_raw_stream_ends_with_done_and_usage()
    {
        await using var s = new ServerUnderTest();
        var models = JsonDocument.Parse(await s.Http.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal(["chat", "pretrain"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.True(models.GetProperty("data")[0].GetProperty("chat").GetBoolean());
        Assert.False(models.GetProperty("data")[1].GetProperty("chat").GetBoolean());

        using var res = await s.Http.PostAsync("/v1/chat/completions", Body(new
        {
            model = "chat", messages = new[] { new { role = "user", content = "你好" } }, max_tokens = 5, seed = 1, stream = true,
            stream_options = new { include_usage = true },
        }));
        Assert.Equal("text/event-stream", res.Content.Headers.ContentType!.MediaType);
        var events = (await res.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e[6..]).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(5, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Completions_continue_text_and_cut_at_a_stop_string()
    {
        await using var s = new ServerUnderTest();
        object Request(string[]? stop) => new { model = "pretrain", prompt = "春眠不觉晓", max_tokens = 24, seed = 5, stop };
        var (status, full) = await Post(s, "/v1/completions", Request(null));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text_completion", full.GetProperty("object").GetString());
        var text = full.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.True(text.Length >= 6, $"expected some text, got '{text}'");

        var stop = text.Substring(text.Length / 2, 2);
        var (_, cut) = await Post(s, "/v1/completions", Request([stop]));
        var choice = cut.GetProperty("choices")[0];
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_cropped_from_the_left()
    {
        await using var s = new ServerUnderTest();
        var (status, json) = await Post(s, "/v1/completions", new { model = "pretrain", prompt = new string('山', 500), max_tokens = 8, seed = 1 });
        Assert.Equal(HttpStatusCode.OK, status);
        // block 32, 8 tokens kept for the answer: the newest 24 prompt tokens remain.
        Assert.Equal(24, json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(8, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Bad_requests_get_openai_errors_with_the_right_status()
    {
        await using var s = new ServerUnderTest(new ServeOptions { MaxBodyBytes = 4096 });
        var msgs = new[] { new { role = "user", content = "hi" } };
        async Task Expect(HttpStatusCode status, string? param, string? code, HttpResponseMessage res)
        {
            using (res)
            {
                Assert.Equal(status, res.StatusCode);
                var error = JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
                Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
                if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
                if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
            }
        }
        await Expect(HttpStatusCode.NotFound, "model", "model_not_found", await s.Http.PostAsync("/v1/chat/completions", Body(new { model = "gpt-4", messages = msgs })));
        await Expect(HttpStatusCode.BadRequest, null, null, await s.Http.PostAsync("/v1/chat/completions", new StringContent("{not json", Encoding.UTF8, "application/json")));
        await Expect(HttpStatusCode.BadRequest, "messages", null, await s.Http.PostAsync("/v1/chat/completions", Body(new { messages = Array.Empty<object>() })));
        await Expect(HttpStatusCode.BadRequest, "messages", null, await s.Http.PostAsync("/v1/chat/completions", Body(new { messages = new[] { new { role = "robot", content = "x" } } })));
        await Expect(HttpStatusCode.BadRequest, "n", null, await s.Http.PostAsync("/v1/chat/completions", Body(new { messages = msgs, n = 2 })));
        await Expect(HttpStatusCode.BadRequest, null, null, await s.Http.PostAsync("/v1/chat/completions", Body(new { messages = msgs, temperature = -1 })));
        await Expect(HttpStatusCode.BadRequest, "stop", null, await s.Http.PostAsync("/v1/completions", Body(new { prompt = "x", stop = 3 })));
        await Expect(HttpStatusCode.RequestEntityTooLarge, null, null, await s.Http.PostAsync("/v1/completions", Body(new { prompt = new string('x', 10_000) })));

        // The official client surfaces the status and message.
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client(s, "nope").CompleteChatAsync("hi"));
        Assert.Equal(404, e.Status);
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public async Task With_an_api_key_every_api_call_needs_it_but_the_page_loads()
    {
        await using var s = new ServerUnderTest(new ServeOptions { ApiKey = "s3cret" });
        using (var res = await s.Http.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
            Assert.Equal("invalid_api_key", JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        using (var res = await s.Http.PostAsync("/arena/battles", Body(new { })))
            Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
        var wrong = await Assert.ThrowsAsync<ClientResultException>(() => Client(s, key: "guess").CompleteChatAsync("hi"));
        Assert.Equal(401, wrong.Status);
        ChatCompletion ok = await Client(s, key: "s3cret").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });
        Assert.True(ok.Usage.OutputTokenCount > 0);
        Assert.Contains("<html", await s.Http.GetStringAsync("/"));
    }

    [Fact]
    public void The_serve_command_explains_bad_input_in_one_line()
    {
        var (code, _, err) = Cli.Run("serve");
        Assert.Equal(1, code);
        Assert.Contains("missing --ckpt", err);
        using var dir = new TempDir();
        (code, _, err) = Cli.Run("serve", "--ckpt", dir.Path, "--api_key_env", "MINIGLM_TEST_UNSET_KEY");
        Assert.Equal(1, code);
        Assert.Contains("MINIGLM_TEST_UNSET_KEY", err);
        Assert.Single(err.Trim().Split('\n'));
        var (helpCode, help, _) = Cli.Run("serve", "--help");
        Assert.Equal(0, helpCode);
        Assert.Contains("--api_key_env", help);
    }

    private static HttpRequestMessage LongStream(string model = "pretrain") => new(HttpMethod.Post, "/v1/completions")
    {
        Content = Body(new { model, prompt = "长", max_tokens = 1_000_000, seed = 11, stream = true }),
    };

    /// The generation asks for a million tokens: had the hang-up gone unnoticed it would run for hours, so a bound of
    /// half a minute is room for a loaded machine, not slack for a bug (on a quiet one it stops within a step).
    [Fact]
    public async Task A_closed_connection_cancels_its_generation()
    {
        await using var s = new ServerUnderTest(new ServeOptions { MaxTokensCeiling = 1_000_000 });
        var worker = s.Worker("pretrain");
        var res = await s.Http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync());
        Assert.True(worker.Busy);
        res.Dispose(); // hang up mid-stream
        Assert.True(await ServerUnderTest.Eventually(() => !worker.Busy, 30), "the generation went on after the client left");
        Assert.Equal(1, worker.Finished.GetValueOrDefault("cancelled"));
        // The model is free for the next client.
        var (status, _) = await Post(s, "/v1/completions", new { model = "pretrain", prompt = "x", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task A_full_queue_answers_429_and_frees_up_when_clients_leave()
    {
        await using var s = new ServerUnderTest(new ServeOptions { QueueCapacity = 1, MaxTokensCeiling = 1_000_000 });
        var worker = s.Worker("pretrain");
        // A full batch is being generated (continuous batching), so the next request waits in the queue.
        var running = new List<HttpResponseMessage>();
        for (int i = 0; i < MiniGlm.Serving.ModelWorker.MaxBatch; i++)
        {
            running.Add(await s.Http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead));
            Assert.Equal(HttpStatusCode.OK, running[^1].StatusCode);
            Assert.True(await ServerUnderTest.Eventually(() => worker.Waiting == 0)); // it joined the batch
        }
        Assert.True(await ServerUnderTest.Eventually(() => worker.LargestBatch == MiniGlm.Serving.ModelWorker.MaxBatch && worker.Waiting == 0));
        using var waiting = await s.Http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead);
        Assert.True(await ServerUnderTest.Eventually(() => worker.Waiting == 1));

        using (var refused = await s.Http.PostAsync("/v1/completions", Body(new { model = "pretrain", prompt = "x", max_tokens = 2 })))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        }
        // The other model has its own queue.
        var (other, _) = await Post(s, "/v1/chat/completions", new { model = "chat", messages = new[] { new { role = "user", content = "x" } }, max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, other);

        waiting.Dispose();
        running.ForEach(r => r.Dispose());
        Assert.True(await ServerUnderTest.Eventually(() => !worker.Busy && worker.Waiting == 0));
        var (status, _) = await Post(s, "/v1/completions", new { model = "pretrain", prompt = "x", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, status);
    }

    /// Responsive means answered without waiting for the generations: /v1/models must return while the model is
    /// still busy with a full queue (an order of events, not a time, so a loaded machine cannot fail it).
    [Fact]
    public async Task Load_twenty_streaming_clients_each_finish_or_get_429_and_the_server_stays_responsive()
    {
        await using var s = new ServerUnderTest(new ServeOptions { QueueCapacity = 4 }, twoModels: false);
        var worker = s.Worker("chat");
        int done = 0, refused = 0;
        var answered = new TaskCompletionSource();
        async Task Client()
        {
            using var http = new HttpClient { BaseAddress = s.Address, Timeout = TimeSpan.FromSeconds(60) };
            while (!answered.Task.IsCompleted || Volatile.Read(ref done) < 5 || Volatile.Read(ref refused) == 0)
            {
                using var res = await http.PostAsync("/v1/chat/completions", Body(new
                {
                    messages = new[] { new { role = "user", content = "写一首诗" } }, max_tokens = 16, stream = true,
                }));
                if (res.StatusCode == HttpStatusCode.TooManyRequests) { Interlocked.Increment(ref refused); await Task.Delay(50); continue; }
                Assert.Equal(HttpStatusCode.OK, res.StatusCode);
                Assert.EndsWith("data: [DONE]\n\n", await res.Content.ReadAsStringAsync());
                Interlocked.Increment(ref done);
            }
        }
        var clients = Enumerable.Range(0, 20).Select(_ => Task.Run(Client)).ToArray();
        Assert.True(await ServerUnderTest.Eventually(() => Volatile.Read(ref refused) > 0, 60), "the queue never filled");
        var models = await s.Http.GetStringAsync("/v1/models"); // while the queue is full
        bool stillGenerating = worker.Busy || worker.Waiting > 0;
        answered.SetResult();
        Assert.True(stillGenerating, "/v1/models answered only once the generations were over");
        Assert.Contains("\"chat\"", models);
        var all = Task.WhenAll(clients);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(120))));
        await all; // surfaces any failed assertion
        Assert.True(done >= 5, $"only {done} requests completed");
        Assert.True(refused > 0, "20 clients against a queue of 4 should see some 429s");
        Assert.True(await ServerUnderTest.Eventually(() => !s.Worker("chat").Busy && s.Worker("chat").Waiting == 0));
    }
}
