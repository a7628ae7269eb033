using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using MiniGlm.Checkpoints;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Serving;
using MiniGlm.Tokenization;
using MiniGlm.Web;

namespace MiniGlm.Tests;

/// A stopped or failed answer is never passed off as a finished one: the API ends a failed stream with an error
/// event and no [DONE] (a failed whole answer is a 500 in OpenAI's error shape), and the page shows a stopped,
/// failed or broken-off answer as cut and leaves it, with its question, out of the conversation it sends next.
public class ServeCutAnswerTests : IDisposable
{
    private readonly TempDir tmp = new();

    public void Dispose() => tmp.Dispose();

    /// A model named "broken" whose every generation fails: its embedding has 64 rows, and any prompt of the
    /// GPT-2 tokenizer holds ids beyond them.
    private Action<ModelPool> Broken => pool =>
    {
        var ckpt = TinyCheckpoint.Create(tmp["broken"], ChatTemplate.Seed);
        var config = CheckpointStore.ReadConfig(ckpt);
        var model = new GptModel(config.Model with { VocabSize = 64 });
        model.eval();
        pool.Add(new LoadedModel { Path = ckpt, Config = config, Generator = new Generator(model, TextTokenizer.Load(config.Tokenizer)) }, 4);
    };

    private static StringContent Body(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_failed_answer_is_an_error_not_a_short_answer()
    {
        await using var s = new ServerUnderTest(twoModels: false, addModels: Broken);
        var question = new { model = "broken", messages = new[] { new { role = "user", content = "床前明月光的下一句是什么？" } }, max_tokens = 8 };

        using (var res = await s.Http.PostAsync("/v1/chat/completions", Body(question)))
        {
            var text = await res.Content.ReadAsStringAsync();
            Assert.True(res.StatusCode == HttpStatusCode.InternalServerError, text);
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.StartsWith("the answer failed: ", error.GetProperty("message").GetString());
            Assert.Equal("server_error", error.GetProperty("type").GetString());
        }

        using (var res = await s.Http.PostAsync("/v1/chat/completions", Body(new { question.model, question.messages, question.max_tokens, stream = true })))
        {
            Assert.Equal(HttpStatusCode.OK, res.StatusCode); // the stream had begun (headers go out while the request waits)
            var events = (await res.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("data: {\"error\":{\"message\":\"the answer failed: ", events[^1]);
            Assert.DoesNotContain(events, e => e == "data: [DONE]");
            Assert.DoesNotContain(events, e => e.Contains("\"finish_reason\":\"stop\""));
        }
        Assert.Equal(2, s.Worker("broken").Finished.GetValueOrDefault("error"));

        // The other model is unaffected.
        using (var res = await s.Http.PostAsync("/v1/chat/completions", Body(question with { model = "chat" })))
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
    }

    [Fact]
    public async Task The_page_shows_stopped_and_failed_answers_as_cut_and_does_not_send_them_back()
    {
        await using var s = new ServerUnderTest(new ServeOptions { MaxTokensCeiling = 1_000_000 }, twoModels: false, addModels: Broken);
        var (playwright, browser, page) = await ServePageTests.Open(s);
        using var _ = playwright;
        await using var __ = browser;
        var sent = new List<string[]>(); // the user messages of each chat request the page makes
        page.Request += (_, r) =>
        {
            if (!r.Url.EndsWith("/v1/chat/completions") || r.PostData is null) return;
            var messages = JsonDocument.Parse(r.PostData).RootElement.GetProperty("messages").EnumerateArray();
            lock (sent) sent.Add([.. messages.Select(m => $"{m.GetProperty("role").GetString()}:{m.GetProperty("content").GetString()}")]);
        };
        async Task Ask(string text)
        {
            await page.FillAsync("#input", text);
            await page.PressAsync("#input", "Enter");
        }
        await page.FillAsync("#max_tokens", "6");

        // 1: a finished answer.
        await Ask("问题一");
        await ServePageTests.WaitForAnswer(page, 0);
        var first = await ServePageTests.Answer(page, 0);

        // 2: stopped while it streams.
        await page.FillAsync("#max_tokens", "1000000");
        await Ask("问题二");
        await page.WaitForFunctionAsync("document.querySelectorAll('.msg.assistant')[1]?.firstChild.textContent.length > 3");
        await page.ClickAsync("#stop");
        await ServePageTests.WaitForAnswer(page, 1, "cut");
        Assert.Contains("stopped", await page.Locator(".msg.assistant >> nth=1").TextContentAsync());
        Assert.Equal(1, await page.Locator(".msg.assistant.cut").CountAsync());

        // 3: the broken model fails: shown as an error, cut.
        await page.FillAsync("#max_tokens", "6");
        await page.SelectOptionAsync("#model", "broken");
        await Ask("问题三");
        await ServePageTests.WaitForAnswer(page, 2, "cut");
        Assert.Contains("error: the answer failed", await page.Locator(".msg.assistant >> nth=2").TextContentAsync());

        // 4: a stream that breaks off without [DONE] (a dropped connection), as the browser would see it.
        await page.RouteAsync("**/v1/chat/completions", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200, ContentType = "text/event-stream",
            Body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
                   "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"半句\"}}]}\n\n",
        }));
        await page.SelectOptionAsync("#model", "chat");
        await Ask("问题四");
        await ServePageTests.WaitForAnswer(page, 3, "cut");
        Assert.Contains("the connection ended before the answer was finished", await page.Locator(".msg.assistant >> nth=3").TextContentAsync());
        await page.UnrouteAllAsync();
        await ServePageTests.Screenshot(page, "chat-cut.png");

        // 5: the next question is sent with the one finished exchange only.
        await Ask("问题五");
        await ServePageTests.WaitForAnswer(page, 4);
        Assert.Equal(3, await page.Locator(".msg.assistant.cut").CountAsync());
        lock (sent) Assert.Equal(["user:问题一", $"assistant:{first}", "user:问题五"], sent[^1]);
    }
}
