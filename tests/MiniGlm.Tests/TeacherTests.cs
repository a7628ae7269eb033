using MiniGlm.Questions;

namespace MiniGlm.Tests;

/// The seed's workflow: templates filled from entities, answered by an OpenAI-compatible server on loopback.
public class TeacherTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly string Examples = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "examples", "sft");

    private static List<string> Questions(int n) => Enumerable.Range(1, n).Select(i => $"问题{i}是什么？").ToList();

    private static TeacherClient Client(FakeTeacher server, int retries = 3, double timeoutSeconds = 10) =>
        new(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, new TeacherOptions
        {
            Url = server.Url, Model = "m", Retries = retries, Timeout = TimeSpan.FromSeconds(timeoutSeconds), Backoff = TimeSpan.FromMilliseconds(10),
        });

    [Fact]
    public void Expands_templates_as_the_seed_did()
    {
        var templates = dir.Write("t.txt", "{book}的主人公是谁？\n介绍一下{ch1}。\n{ch1}和{ch2}之间有什么关系？\n\n讲一下{book}中有名的{plot}情节。\n总结一下。\n");
        var entities = dir.Write("e.json", """{"books":[{"name":"《甲》","characters":["x","y","z"],"plots":["p"]},{"name":"《乙》","characters":["x","w"]}]}""");
        var qs = TemplateExpander.Expand(TemplateExpander.LoadTemplates(templates), BookEntities.Load(entities));
        Assert.Equal(2, qs.Count(q => q.Template == 1));
        Assert.Equal(4, qs.Count(q => q.Template == 2));       // x, y, z, w: x asked once though in both books
        Assert.Equal(["x和y之间有什么关系？", "x和z之间有什么关系？", "y和z之间有什么关系？", "x和w之间有什么关系？"],
            qs.Where(q => q.Template == 3).Select(q => q.Question));
        Assert.Equal(["讲一下《甲》中有名的p情节。"], qs.Where(q => q.Template == 5).Select(q => q.Question));
        Assert.Single(qs, q => q.Template == 6);
        Assert.Equal(12, qs.Count);

        var swapped = TemplateExpander.Swapped(qs.First(q => q.Template == 3), "x和y是师徒，x教y武功。");
        Assert.Equal(new QaPair("y和x之间有什么关系？", "y和x是师徒，x教y武功。", "template:3"), swapped);
        Assert.Null(TemplateExpander.Swapped(qs[0], "答"));

        var sampled = TemplateExpander.Sample(qs, 1, seed: 1);
        Assert.Equal(5, sampled.Count);
        Assert.Equal(sampled.Select(q => q.Template).Distinct().Count(), sampled.Count);

        dir.Write("bad.txt", "{book}的{hero}\n");
        Assert.Contains("bad.txt:1: unknown slot {hero}", Assert.Throws<MiniGlmException>(() => TemplateExpander.LoadTemplates(dir["bad.txt"])).Message);
    }

    [Fact]
    public void The_seed_templates_and_books_give_the_seed_question_count()
    {
        var qs = TemplateExpander.Expand(TemplateExpander.LoadTemplates(Path.Combine(Examples, "templates.txt")),
            BookEntities.Load(Path.Combine(Examples, "entities.json")));
        // 30 book + 216 character + 336 pair + 32 plot questions, less those of 郭靖 and 黄蓉 asked in both of
        // their books (7 × 2 + 3): the 597 the seed sent to ChatGPT; it then added 333 swapped pair questions.
        Assert.Equal(597, qs.Count);
        Assert.Equal(333, qs.Count(q => q.Ch2 is not null));
    }

    [Theory]
    [InlineData("1. 甲\n2. 乙\n3. 丙", "甲|乙|丙")]
    [InlineData("**1.** 答：甲\n\n**2.** 乙\n第一行\n第二行\n3、问题3是什么？丙", "甲|乙\n第一行\n第二行|丙")]
    [InlineData("1. 郭靖会：\n1. 降龙十八掌\n2. 九阴真经\n3. 丙", "郭靖会：\n1. 降龙十八掌|九阴真经|丙")]
    [InlineData("甲\n乙\n丙", "甲|乙|丙")]
    [InlineData("1. 甲\n3. 丙", "甲|∅|丙")]
    [InlineData("我不知道。", "∅|∅|∅")]
    public void Parses_numbered_replies(string reply, string expected)
    {
        var answers = NumberedReply.Parse(reply, ["问题1是什么？", "问题2是什么？", "问题3是什么？"]);
        Assert.Equal(expected, string.Join("|", answers.Select(a => a ?? "∅")));
    }

    [Fact]
    public async Task Asks_five_per_request_within_the_concurrency_limit_and_caches_every_answer()
    {
        int inFlight = 0, maxInFlight = 0;
        using var server = new FakeTeacher((_, qs) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            lock (qs) maxInFlight = Math.Max(maxInFlight, now);
            Thread.Sleep(50);
            Interlocked.Decrement(ref inFlight);
            return FakeTeacher.Numbered(qs);
        });
        using (var cache = new TeacherCache(dir["cache.jsonl"], "m"))
        {
            var run = await TeacherAnswers.AnswerAsync(Questions(12), Client(server), cache, perRequest: 5, concurrency: 2);
            Assert.Equal((12, 12, 3), (run.Asked, run.Answered, run.Requests));
            Assert.True(cache.TryGet("问题7是什么？", out var a) && a == "问题7是什么？");  // "答案：" label stripped
        }
        Assert.InRange(maxInFlight, 1, 2);
        Assert.Equal(12, File.ReadAllLines(dir["cache.jsonl"]).Length);
        using var again = new TeacherCache(dir["cache.jsonl"], "m");
        Assert.Equal(0, (await TeacherAnswers.AnswerAsync(Questions(12), Client(server), again, 5, 2)).Asked);
        Assert.Equal(3, server.Requests);
        using var otherModel = new TeacherCache(dir["cache.jsonl"], "other");
        Assert.Equal(0, otherModel.Count);
    }

    [Fact]
    public async Task Drops_and_counts_unparseable_empty_and_duplicate_answers_and_asks_them_again_later()
    {
        using var server = new FakeTeacher((n, qs) => n switch
        {
            1 => new(200, "抱歉，我无法回答。"),                               // unparseable: 3 questions
            2 => new(200, "1. 同一个答案\n2. 同一个答案\n3. ？"),              // duplicate + empty
            _ => FakeTeacher.Numbered(qs),
        });
        using var cache = new TeacherCache(dir["cache.jsonl"], "m");
        var run = await TeacherAnswers.AnswerAsync(Questions(6), Client(server), cache, perRequest: 3, concurrency: 1);
        Assert.Equal(1, run.Answered);
        Assert.Equal(3, run.Dropped[TeacherAnswers.Unparseable]);
        Assert.Equal(1, run.Dropped[TeacherAnswers.Duplicate]);
        Assert.Equal(1, run.Dropped[TeacherAnswers.Empty]);
        var rerun = await TeacherAnswers.AnswerAsync(Questions(6), Client(server), cache, perRequest: 3, concurrency: 1);
        Assert.Equal((5, 5), (rerun.Asked, rerun.Answered));
    }

    [Fact]
    public async Task Retries_after_429_5xx_and_a_timeout()
    {
        using var server = new FakeTeacher((n, qs) => n switch
        {
            1 => new(429),
            2 => new(503),
            3 => FakeTeacher.Numbered(qs) with { Delay = TimeSpan.FromSeconds(3) }, // longer than the client waits
            _ => FakeTeacher.Numbered(qs),
        });
        var client = Client(server, retries: 3, timeoutSeconds: 0.5);
        using var cache = new TeacherCache(dir["cache.jsonl"], "m");
        var run = await TeacherAnswers.AnswerAsync(Questions(2), client, cache, perRequest: 5, concurrency: 1);
        Assert.Equal(2, run.Answered);
        Assert.Equal(3, client.Retried);
        Assert.Equal(4, server.Requests);

        using var refusing = new FakeTeacher((_, _) => new(401, RawBody: """{"error":"bad key"}"""));
        var e = await Assert.ThrowsAsync<MiniGlmException>(() => TeacherAnswers.AnswerAsync(["新问题？"], Client(refusing), cache, 5, 1));
        Assert.Contains("HTTP 401", e.Message);
        Assert.Equal(1, refusing.Requests); // not retried
    }

    [Fact]
    public async Task A_crash_mid_run_loses_nothing_and_the_rerun_asks_only_the_rest()
    {
        using (var failing = new FakeTeacher((n, qs) => n == 1 ? FakeTeacher.Numbered(qs) : new(500)))
        using (var cache = new TeacherCache(dir["cache.jsonl"], "m"))
            await Assert.ThrowsAsync<MiniGlmException>(() => TeacherAnswers.AnswerAsync(Questions(10), Client(failing, retries: 1), cache, 4, 1));
        File.AppendAllText(dir["cache.jsonl"], """{"Question":"问题9是什么？","Answ"""); // a line cut short by the crash

        using var healthy = new FakeTeacher((_, qs) => FakeTeacher.Numbered(qs));
        using (var cache = new TeacherCache(dir["cache.jsonl"], "m"))
        {
            Assert.Equal(4, cache.Count);
            var run = await TeacherAnswers.AnswerAsync(Questions(10), Client(healthy), cache, 4, 1);
            Assert.Equal(6, run.Asked);
        }
        Assert.Equal(Questions(10).Skip(4), healthy.Asked.Order(StringComparer.Ordinal).OrderBy(q => q.Length));
        using var reread = new TeacherCache(dir["cache.jsonl"], "m");
        Assert.Equal(10, reread.Count);
    }

    [Fact]
    public void Cli_builds_from_templates_with_the_key_from_the_environment_and_never_on_disk()
    {
        const string secret = "sk-test-not-a-real-key-42";
        Environment.SetEnvironmentVariable("MINIGLM_TEST_KEY", secret);
        using var server = new FakeTeacher((_, qs) => FakeTeacher.Numbered(qs));
        var output = dir["qa/novels.jsonl"];
        try
        {
            var (code, stdout, stderr) = Cli.Run("sft-data", "build", "--templates", Path.Combine(Examples, "templates.txt"),
                "--entities", Path.Combine(Examples, "entities.json"), "--teacher", server.Url, "--model", "m",
                "--api_key_env", "MINIGLM_TEST_KEY", "--concurrency", "4", "--max_per_template", "2", "--out", output);
            Assert.True(code == 0, stderr);
            Assert.All(server.Authorization, h => Assert.Equal($"Bearer {secret}", h));
            Assert.DoesNotContain(secret, stdout + stderr);
            Assert.All(Directory.GetFiles(dir["qa"]), f => Assert.DoesNotContain(secret, File.ReadAllText(f)));
        }
        finally { Environment.SetEnvironmentVariable("MINIGLM_TEST_KEY", null); }
        var items = MiniGlm.Evaluation.QaReader.Read(output).Items;
        Assert.Equal(46 + 6, items.Count); // 23 templates × 2, plus the 3 relation templates' questions swapped
        Assert.All(items, q => Assert.StartsWith("template:", q.Type));
        Assert.True(File.Exists(dir["qa/novels.summary.json"]));
        Assert.Equal(46, File.ReadAllLines(dir["qa/novels.teacher-cache.jsonl"]).Length);
        Assert.Equal(1, Cli.Run("sft-data", "build", "--templates", Path.Combine(Examples, "templates.txt"), "--entities",
            Path.Combine(Examples, "entities.json"), "--teacher", server.Url, "--model", "m", "--api_key_env", "MINIGLM_NO_SUCH_VAR", "--out", output).Code);
    }
}
