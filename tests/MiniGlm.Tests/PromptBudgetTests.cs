using System.Net.Http.Json;
using System.Text.Json;
using MiniGlm.Generation;
using MiniGlm.Serving;
using MiniGlm.Tokenization;

namespace MiniGlm.Tests;

/// What of a conversation a model sees: the newest whole turns as trained, up to max_turns, within the budget,
/// the same in `chat`, the page and the API; and bounded work for any prompt size.
public class PromptBudgetTests
{
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);
    private static readonly ChatTemplate Seed = ChatTemplate.Seed;

    private static readonly (string User, string Assistant)[] History =
    [
        ("《静夜思》的作者是谁？", "李白。"), ("《春晓》的作者是谁？", "孟浩然。"),
        ("《江雪》的作者是谁？", "柳宗元。"), ("《登鹳雀楼》的作者是谁？", "王之涣。"),
    ];

    private static List<int> Rendered(IEnumerable<(string User, string Assistant)> turns, string question) =>
        Seed.Render(Gpt2, turns.Select(t => (t.User, (string?)t.Assistant)).Append((question, null)));

    private static List<ChatMessage> Messages(IEnumerable<(string User, string Assistant)> turns, string question) =>
        [.. turns.SelectMany(t => new[] { new ChatMessage("user", t.User), new ChatMessage("assistant", t.Assistant) }),
         new ChatMessage("user", question)];

    [Fact]
    public void A_multi_turn_model_gets_the_newest_whole_turns_up_to_its_max_turns()
    {
        var roomy = new PromptBudget(Gpt2, Seed, maxTurns: 3, blockSize: 512);
        Assert.True(roomy.MultiTurn);
        // Three turns at most: the question and the two newest exchanges, laid out exactly as SftEncoder trains.
        Assert.Equal(Rendered(History[^2..], "李白是哪个朝代的？"), roomy.Chat(History, "李白是哪个朝代的？", null, 16));

        // A tight context keeps whole turns only: never half an exchange.
        int oneTurn = Rendered(History[^1..], "李白是哪个朝代的？").Count;
        var tight = new PromptBudget(Gpt2, Seed, maxTurns: 4, blockSize: oneTurn + 16 + 5);
        Assert.Equal(Rendered(History[^1..], "李白是哪个朝代的？"), tight.Chat(History, "李白是哪个朝代的？", null, 16));
        Assert.Equal(1, tight.Compose(History, "李白是哪个朝代的？", null, 16).TurnsKept);   // what eval reports as history_kept
        Assert.Equal(2, roomy.Compose(History, "李白是哪个朝代的？", null, 16).TurnsKept);
        Assert.Equal(0, new PromptBudget(Gpt2, Seed, maxTurns: 4, blockSize: oneTurn).Compose(History, "李白是哪个朝代的？", null, 16).TurnsKept);

        // A system text goes first, encoded on its own, and counts against the budget.
        var withSystem = roomy.Chat(History, "李白是哪个朝代的？", "你是诗词助手。", 16);
        Assert.Equal(Gpt2.Encode("你是诗词助手。\n").Concat(Rendered(History[^2..], "李白是哪个朝代的？")), withSystem);
    }

    [Fact]
    public void A_single_turn_model_gets_only_the_last_question()
    {
        var budget = new PromptBudget(Gpt2, Seed, maxTurns: 1, blockSize: 512);
        Assert.False(budget.MultiTurn);
        Assert.Equal(Gpt2.Encode("问：李白是哪个朝代的？\n答："), budget.Chat(History, "李白是哪个朝代的？", null, 16));
        // The API's messages read the same way: several user messages in a row are one question.
        Assert.Equal(Gpt2.Encode("问：你好\n李白是谁？\n答："),
            ChatPrompt.Chat(budget, [.. Messages(History, "你好"), new ChatMessage("user", "李白是谁？")], 16));
    }

    [Fact]
    public void A_question_longer_than_the_context_keeps_its_tail_between_the_template_prefixes()
    {
        var budget = new PromptBudget(Gpt2, Seed, maxTurns: 4, blockSize: 64);
        var question = string.Concat(Enumerable.Range(0, 400).Select(i => $"第{i}句。")) + "最后一句是什么？";
        var ids = budget.Chat(History, question, "系统", 16);
        Assert.Equal(budget.Tokens(16), ids.Count);
        Assert.Equal(Gpt2.Encode(Seed.UserPrefix), ids.Take(Gpt2.Encode(Seed.UserPrefix).Count));
        Assert.EndsWith("最后一句是什么？" + Seed.AssistantPrefix, Gpt2.Decode(ids));
    }

    [Fact]
    public void Chat_session_and_the_api_send_the_same_prompt_ids()
    {
        using var tmp = new TempDir();
        foreach (var (name, template, maxTurns) in new[] { ("multi", Seed, (int?)3), ("single", Seed, null), ("pretrained", null, null) })
        {
            using var model = LoadedModel.Load(TinyCheckpoint.Create(tmp[name], template, blockSize: 96, maxTurns: maxTurns));
            var session = new ChatSession(model);
            var o = new SamplingOptions { MaxNewTokens = 6, StopAtEndOfText = false, Seed = 1 };
            foreach (var (q, _) in History) string.Concat(session.Send(q, o));
            var sessionIds = session.Prompt("李白是哪个朝代的？", 12);
            var apiIds = ChatPrompt.Chat(PromptBudget.For(model), Messages(session.History, "李白是哪个朝代的？"), 12);
            Assert.Equal(sessionIds, apiIds);
            Assert.True(sessionIds.Count <= 96 - 12, name);
            if (template is not null) Assert.EndsWith("问：李白是哪个朝代的？\n答：", Gpt2.Decode(sessionIds));
        }
    }

    [Fact]
    public void A_huge_prompt_is_cropped_without_encoding_all_of_it()
    {
        var budget = new PromptBudget(Gpt2, Seed, maxTurns: 4, blockSize: 256);
        var poem = string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。举头望明月，低头思故乡。The moon, 1234! ", 30_000))[..(1 << 20)];
        var commas = new string('，', 1 << 20);
        int n = budget.Tokens(32);
        var cpu = CpuTime.Now;
        foreach (var text in new[] { poem, commas })
        {
            Assert.Equal(n, budget.Text(text, 32).Count);
            Assert.Equal(n, budget.Chat([], text, null, 32).Count);
            Assert.Equal(Rendered([], "问题"), budget.Chat([(text, "答")], "问题", text, 32)); // too long: history and system go
        }
        var spent = CpuTime.Now - cpu;
        // Encoding all of them would take seconds of CPU; cropping takes a few milliseconds.
        Assert.True(spent < TimeSpan.FromSeconds(1), $"cropping 1 MiB prompts took {spent.TotalSeconds:F2} CPU s");

        // The tail kept is the text's own tail: the same tokens as encoding it whole, but for the cut at the left.
        var tail = budget.Text(poem, 32);
        var whole = Gpt2.Encode(poem[^20_000..]);
        Assert.Equal(whole.Skip(whole.Count - (n - 8)), tail.Skip(8));
    }

    [Fact]
    public async Task The_api_crops_a_huge_raw_prompt_to_the_context()
    {
        await using var s = new ServerUnderTest();
        var cpu = CpuTime.Now; // the server runs in this process
        // 900 KB of UTF-8 as the issue's attack sent it (a JSON serializer would escape each comma to 6 bytes).
        var body = $"{{\"model\":\"pretrain\",\"prompt\":\"{new string('，', 300_000)}\",\"max_tokens\":1}}";
        var res = await s.Http.PostAsync("/v1/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var spent = CpuTime.Now - cpu;
        Assert.True(res.IsSuccessStatusCode, await res.Content.ReadAsStringAsync());
        var usage = (await res.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        Assert.Equal(32 - 1, usage.GetProperty("prompt_tokens").GetInt32()); // block_size 32 less the answer's token
        Assert.True(spent < TimeSpan.FromSeconds(5), $"a 900 KB prompt took {spent.TotalSeconds:F2} CPU s");
    }
}
