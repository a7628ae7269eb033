using System.Net.Http.Json;
using System.Text.Json;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// A tiny SFT model that has memorised four facts, asked alone and in every order in conversations of two and
/// three turns, so the last answer must follow the last question whatever came before. Trained once per class.
public sealed class ConversationModel : IDisposable
{
    public static readonly (string Q, string A)[] Facts =
    [
        ("《静夜思》的作者是谁？", "李白。"), ("《春晓》的作者是谁？", "孟浩然。"),
        ("《江雪》的作者是谁？", "柳宗元。"), ("《登鹳雀楼》的作者是谁？", "王之涣。"),
    ];

    private readonly TempDir dir = new();
    public string Checkpoint { get; }
    public DatasetMeta Data { get; }

    public ConversationModel()
    {
        var lines = new List<string>();
        foreach (var a in Facts.Index())
        {
            lines.Add(Conversation(a.Item));
            foreach (var b in Facts.Index().Where(b => b.Index != a.Index))
            {
                lines.Add(Conversation(a.Item, b.Item));
                foreach (var c in Facts.Index().Where(c => c.Index != a.Index && c.Index != b.Index))
                    lines.Add(Conversation(a.Item, b.Item, c.Item));
            }
        }
        var jsonl = dir["conversations.jsonl"];
        File.WriteAllLines(jsonl, lines);
        // A tokenizer of a few hundred ids learned from the facts themselves: GPT-2's 50k-row output layer would
        // cost most of the training time of a model this small.
        var text = dir["facts.txt"];
        File.WriteAllLines(text, Facts.Select(f => ChatTemplate.Seed.PromptText(f.Q) + f.A));
        var tokenizer = TokenizerTraining.Run(new TokenizerTrainOptions { Inputs = [text], OutPath = dir["facts.tiktoken"], VocabSize = 512, Threads = 1 }).Spec;
        var data = dir["sft"];
        Data = SftPreparer.Prepare(new SftOptions { Inputs = [jsonl], ValInputs = [jsonl], OutDir = data, BlockSize = 64, Layout = SftLayout.Packed },
            TextTokenizer.Load(tokenizer)).Meta;
        var run = dir["poetry-chat"];
        new Trainer(TinyTraining.Config(data, run, 64, ("batch_size", "8"), ("max_iters", "300"), ("lr_decay_iters", "300"),
            ("eval_interval", "100"), ("eval_iters", "2"), ("log_interval", "100"), ("warmup_iters", "10"), ("dropout", "0.0"))).Run();
        Checkpoint = CheckpointStore.Resolve(run);
    }

    private static string Conversation(params (string Q, string A)[] turns) => JsonSerializer.Serialize(new
    {
        messages = turns.SelectMany(t => new[] { new { role = "user", content = t.Q }, new { role = "assistant", content = t.A } }),
    });

    public void Dispose() => dir.Dispose();
}

/// Conversations in the page and the API: a model trained on conversations answers each question of one
/// conversation; a model trained on single questions is sent only the last one, and the page says so.
public class ServeConversationTests(ConversationModel trained) : IClassFixture<ConversationModel>
{
    /// The screenshot the README shows: three questions in one conversation.
    public static string ConversationScreenshot => Path.Combine(ServePageTests.Artifacts, "conversation.png");

    [Fact]
    public void Prepare_sft_records_max_turns_and_the_checkpoint_carries_it()
    {
        Assert.Equal(3, trained.Data.SftSummary!.MaxTurns);
        var config = CheckpointStore.ReadConfig(trained.Checkpoint);
        Assert.Equal(3, config.MaxTurns);
        Assert.Equal(3, config.ChatTurns);
        Assert.Equal(ChatTemplate.Seed, config.ChatTemplate);
        // Before max_turns was recorded, SFT saw single questions: an old checkpoint reads as one turn.
        using var tmp = new TempDir();
        Assert.Equal(1, CheckpointStore.ReadConfig(TinyCheckpoint.Create(tmp["old"], ChatTemplate.Seed)).ChatTurns);
    }

    [Fact]
    public void Chat_answers_each_question_of_a_conversation_at_its_default_temperature()
    {
        using var model = LoadedModel.Load(trained.Checkpoint);
        var session = new ChatSession(model);
        Assert.True(session.MultiTurn);
        var options = SamplingOptions.For(model.Config.ChatTemplate) with { MaxNewTokens = 16 };
        foreach (var (q, a) in new[] { ConversationModel.Facts[3], ConversationModel.Facts[0], ConversationModel.Facts[2] })
            Assert.Equal(a, string.Concat(session.Send(q, options)));
        // The next prompt holds the newest exchanges as trained, at most three turns (max_turns) with the question.
        Assert.Equal(ChatTemplate.Seed.Render(model.Tokenizer, session.History.Skip(1).Select(t => (t.User, (string?)t.Assistant)).Append(("《春晓》的作者是谁？", null))),
            session.Prompt("《春晓》的作者是谁？", 16));
    }

    [Fact]
    public void The_chat_command_keeps_the_conversation_and_says_what_the_model_was_trained_on()
    {
        var questions = new[] { ConversationModel.Facts[2], ConversationModel.Facts[1], ConversationModel.Facts[3] };
        var (code, output, err) = Cli.Run(new StringReader(string.Join("\n", questions.Select(f => f.Q)) + "\n/quit\n"), "chat", "--ckpt", trained.Checkpoint);
        Assert.True(code == 0, err);
        Assert.Contains("chat model, trained on conversations; temperature 0.3", output);
        var answers = output.Split("\n> ").Skip(1).Select(a => a.Split('\n')[0]).Take(3);
        Assert.Equal(questions.Select(f => f.A), answers);

        using var tmp = new TempDir();
        var help = Cli.Run("chat", "--help").Out;
        Assert.Contains("0 = greedy (0.3 for an SFT model, 0.8 for a pretrained one)", help);
        Assert.Contains("tokens to generate per answer (256)", help);
        var single = Cli.Run(new StringReader("/quit\n"), "chat", "--ckpt", TinyCheckpoint.Create(tmp["single"], ChatTemplate.Seed));
        Assert.Contains("trained on single questions — it answers each question on its own", single.Out);
    }

    [Fact]
    public async Task The_page_answers_three_questions_in_one_conversation_each_about_its_own_question()
    {
        await using var s = new ServerUnderTest(checkpoints: [trained.Checkpoint]);
        var (playwright, browser, page) = await ServePageTests.Open(s);
        using var _ = playwright;
        await using var __ = browser;
        // A chat model starts as a fact bot; it was trained on conversations, so no single-question note.
        Assert.Equal(SamplingOptions.ChatTemperature, double.Parse(await page.InputValueAsync("#temperature"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(await page.IsVisibleAsync("#turn-note"));
        await page.FillAsync("#max_tokens", "16");

        var asked = new[] { ConversationModel.Facts[0], ConversationModel.Facts[1], ConversationModel.Facts[2] };
        for (int i = 0; i < asked.Length; i++)
        {
            await page.FillAsync("#input", asked[i].Q);
            await page.PressAsync("#input", "Enter");
            await ServePageTests.WaitForAnswer(page, i);
            Assert.Equal(asked[i].A, await ServePageTests.Answer(page, i));
        }
        Assert.Equal(asked.Select(f => f.Q), await page.Locator(".msg.user").AllTextContentsAsync());
        await ServePageTests.Screenshot(page, Path.GetFileName(ConversationScreenshot));
        Assert.True(File.Exists(ConversationScreenshot));

        // The seed's temperature is one click away.
        await page.ClickAsync("#presets button:has-text('seed')");
        Assert.Equal(SamplingOptions.SeedTemperature, double.Parse(await page.InputValueAsync("#temperature"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("true", await page.GetAttributeAsync("#presets button:has-text('seed')", "aria-pressed"));
    }

    [Fact]
    public async Task A_single_question_model_gets_only_the_last_question_and_the_page_says_so()
    {
        await using var s = new ServerUnderTest(); // "chat": an SFT checkpoint without max_turns, i.e. single questions
        var tok = s.Worker("chat").Model.Tokenizer;
        var models = await s.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        var chat = models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "chat");
        Assert.False(chat.GetProperty("multi_turn").GetBoolean());
        Assert.Equal(SamplingOptions.ChatTemperature, chat.GetProperty("temperature").GetDouble());

        var res = await s.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "chat", max_tokens = 1,
            messages = new[]
            {
                new { role = "user", content = "《静夜思》的作者是谁？" }, new { role = "assistant", content = "李白。" },
                new { role = "user", content = "《春晓》的作者是谁？" },
            },
        });
        Assert.True(res.IsSuccessStatusCode, await res.Content.ReadAsStringAsync());
        int promptTokens = (await res.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(tok.Encode(ChatTemplate.Seed.PromptText("《春晓》的作者是谁？")).Count, promptTokens);

        var (playwright, browser, page) = await ServePageTests.Open(s);
        using var _ = playwright;
        await using var __ = browser;
        Assert.True(await page.IsVisibleAsync("#turn-note"));
        Assert.Contains("answers each question on its own", await page.TextContentAsync("#turn-note"));
        // A pretrained model continues the whole text: no note, and the seed's temperature.
        await page.SelectOptionAsync("#model", "pretrain");
        Assert.False(await page.IsVisibleAsync("#turn-note"));
        Assert.Equal(SamplingOptions.SeedTemperature, double.Parse(await page.InputValueAsync("#temperature"), System.Globalization.CultureInfo.InvariantCulture));
    }
}
