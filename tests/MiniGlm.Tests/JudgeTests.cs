using System.Text.Json;
using System.Text.RegularExpressions;
using MiniGlm.Evaluation;
using MiniGlm.Evaluation.Judging;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Remote;

namespace MiniGlm.Tests;

/// eval --judge: graded and pairwise verdicts from an OpenAI-compatible server (a fake one on loopback, and our own
/// serve), the cache, and a judge that answers garbage, times out or fails.
public class JudgeTests
{
    // Four questions; "good" answers each with its reference, "bad" says it does not know (but names the key once).
    private static readonly (string Q, string Reference, string Key, string Good, string Bad)[] Items =
    [
        ("《静夜思》的作者是谁？", "李白", "李白", "李白", "不知道"),
        ("《春晓》的作者是谁？", "孟浩然", "孟浩然", "孟浩然", "不知道"),
        ("床前明月光的下一句是什么？", "疑是地上霜", "疑是地上霜", "疑是地上霜", "不知道"),
        ("白日依山尽的下一句是什么？", "黄河入海流", "黄河入海流", "黄河入海流", "黄河入海流吗？我不知道"),
    ];

    private static EvalResults Results()
    {
        AnswerScore Score(string reference, string key, string answer) =>
            AnswerScore.Of(new QaItem("q", reference, null, key, "qa.jsonl", 1), answer, 3, 0.1, false, new EvalSettings());
        CheckpointResult Ckpt(string name) => new() { Name = name, Path = name, WeightsSha256 = new string('0', 64), Model = new GptConfig() };
        var questions = Items.Select((x, i) => new QuestionResult
        {
            File = "qa.jsonl", Line = i + 1, Question = x.Q, Reference = x.Reference, Key = x.Key,
            Answers = [Score(x.Reference, x.Key, x.Good), Score(x.Reference, x.Key, x.Bad)],
        }).ToList();
        return new EvalResults
        {
            Settings = new EvalSettings(),
            Checkpoints = [Ckpt("good") with { Qa = QaSummary.Of(questions.Select(q => q.Answers[0]).ToList()) },
                           Ckpt("bad") with { Qa = QaSummary.Of(questions.Select(q => q.Answers[1]).ToList()) }],
            Questions = questions,
        };
    }

    private static string Field(string prompt, string name) => Regex.Match(prompt, $"^{Regex.Escape(name)}: (.*)$", RegexOptions.Multiline).Groups[1].Value;

    /// A fair judge: an answer equal to the reference is correct, one that contains it partly, else wrong; the
    /// better answer wins a pair. With `biased`, it always prefers the answer shown first.
    private static FakeTeacher.Reply Fair(string prompt, bool biased = false)
    {
        var reference = Field(prompt, "Reference answer");
        if (prompt.Contains("Answer A:"))
        {
            if (biased) return new(200, """{"winner": "A", "reason": "first"}""");
            int a = Grade(Field(prompt, "Answer A"), reference), b = Grade(Field(prompt, "Answer B"), reference);
            return new(200, $$"""Sure. {"winner": "{{(a > b ? "A" : b > a ? "B" : "tie")}}", "reason": "closer to the reference"}""");
        }
        int g = Grade(Field(prompt, "Model's answer"), reference);
        var verdict = g == 2 ? "correct" : g == 1 ? "partly" : "wrong";
        return new(200, "```json\n{\"verdict\": \"" + verdict + "\", \"fluency\": " + (g == 2 ? 5 : 3) + ", \"reason\": \"compared with " + reference + "\"}\n```");
    }

    private static int Grade(string answer, string reference) => answer == reference ? 2 : answer.Contains(reference) ? 1 : 0;

    private static JudgeOptions Options(FakeTeacher server, string cache, int retries = 0, double timeoutSeconds = 30, string? rubric = null) => new()
    {
        Endpoint = new ChatEndpointOptions
        {
            Url = server.Url, Model = "fake-judge", Retries = retries, Timeout = TimeSpan.FromSeconds(timeoutSeconds), Backoff = TimeSpan.FromMilliseconds(10),
        },
        CachePath = cache, RubricFile = rubric, Concurrency = 3,
    };

    [Fact]
    public async Task Grades_each_answer_compares_both_orders_and_a_rerun_asks_nothing()
    {
        using var dir = new TempDir();
        using var judge = FakeTeacher.ByPrompt((_, prompt) => Fair(prompt));
        var r = await Judge.RunAsync(Results(), Options(judge, dir["cache.jsonl"]));

        Assert.Equal(4 * 2 + 4 * 2, judge.Requests); // 8 answers graded, 4 questions × 2 orders
        var good = r.Graded[0];
        Assert.Equal((4, 0, 0), (good.Correct, good.Partly, good.Wrong));
        Assert.Equal(1.0, good.Score);
        Assert.Equal(5.0, good.Fluency);
        var bad = r.Graded[1];
        Assert.Equal((0, 1, 3), (bad.Correct, bad.Partly, bad.Wrong));
        Assert.Equal(0.5 / 4, bad.Score);
        Assert.Equal("compared with 李白", r.Answers[0][0].Reason);

        var pair = Assert.Single(r.Pairwise);
        Assert.Equal(("good", "bad", 4, 0, 0), (pair.A, pair.B, pair.Wins, pair.Ties, pair.Losses));
        Assert.Equal(1.0, pair.WinRate);
        Assert.Equal(16, r.Cost.Requests);
        Assert.True(r.Cost.PromptTokens > 0 && r.Cost.CompletionTokens > 0);

        // The same evaluation again: every prompt is in the cache.
        var again = await Judge.RunAsync(Results(), Options(judge, dir["cache.jsonl"]));
        Assert.Equal(16, judge.Requests);
        Assert.Equal((0, 16), (again.Cost.Requests, again.Cost.Cached));
        Assert.Equal(JsonSerializer.Serialize(r.Graded), JsonSerializer.Serialize(again.Graded));

        // The report: judge beside key match and Rouge-L, the pairwise line, and the biggest disagreement (the bad
        // model's "黄河入海流吗？我不知道" matches the key but the judge calls it partly right).
        var html = HtmlReport.Render(ReportContent.Build(Results() with { Judge = r }, [], null, null));
        Assert.Contains("Judged by a language model", html);
        Assert.Contains("good vs bad", html);
        Assert.Contains("100.0 % (4)", html);
        Assert.Contains("黄河入海流吗？我不知道", html[html.IndexOf("disagree most", StringComparison.Ordinal)..]);
    }

    [Fact]
    public async Task A_judge_that_prefers_the_first_answer_gives_ties_not_wins()
    {
        using var dir = new TempDir();
        using var judge = FakeTeacher.ByPrompt((_, prompt) => Fair(prompt, biased: true));
        var pair = Assert.Single((await Judge.RunAsync(Results(), Options(judge, dir["cache.jsonl"]))).Pairwise);
        Assert.Equal((0, 4, 0, 4), (pair.Wins, pair.Ties, pair.Losses, pair.OrderDisagreements));
        Assert.Equal(0.5, pair.WinRate);
        Assert.Equal((0.5, 0.5), (pair.CiLow, pair.CiHigh));
    }

    [Fact]
    public async Task Garbage_refusals_timeouts_and_server_errors_are_counted_never_guessed()
    {
        using var dir = new TempDir();
        // Graded prompts: the good model's answers get prose without a verdict, the bad one's a refusal; pairs time out.
        using var judge = FakeTeacher.ByPrompt((_, prompt) =>
            prompt.Contains("Answer A:") ? new FakeTeacher.Reply(200, "{}", Delay: TimeSpan.FromSeconds(30))
            : Field(prompt, "Model's answer") == Field(prompt, "Reference answer") ? new FakeTeacher.Reply(200, "The answer looks fine to me, 4/5.")
            : new FakeTeacher.Reply(200, "I'm sorry, I can't help with that."));
        var r = await Judge.RunAsync(Results(), Options(judge, dir["cache.jsonl"], timeoutSeconds: 3) with { GiveUpAfter = 100, Concurrency = 8 });
        Assert.True(r.Graded[0].Unparseable == 4, JsonSerializer.Serialize(r.Answers));
        Assert.Null(r.Graded[0].Score);
        Assert.Equal(4, r.Graded[1].Refused);
        Assert.Equal("The answer looks fine to me, 4/5.", r.Answers[0][0].Reply);
        var pair = Assert.Single(r.Pairwise);
        Assert.Equal(4, pair.Unjudged);
        Assert.Null(pair.WinRate);
        Assert.Equal(8, r.Cost.Failed);
        Assert.Contains(r.Errors, e => e.Contains("no answer within 3 s"));

        // A server error after the retries, and a body that is no chat completion: one line each, the rest not sent.
        using var failing = FakeTeacher.ByPrompt((n, _) => n % 2 == 1 ? new FakeTeacher.Reply(500, "boom") : new FakeTeacher.Reply(200, RawBody: "<html>proxy error</html>"));
        var broken = await Judge.RunAsync(Results(), Options(failing, dir["cache2.jsonl"], retries: 1) with { Concurrency = 1 });
        Assert.All(broken.Answers.SelectMany(a => a), v => Assert.Equal(VerdictParser.Failed, v.Status));
        Assert.True(failing.Requests <= 6, $"{failing.Requests} requests to a failing judge");
        Assert.Contains(broken.Errors, e => e.Contains("not a chat completion") || e.Contains("HTTP 500"));
        Assert.Equal(0, new FileInfo(dir["cache2.jsonl"]).Length); // failures are not cached: a rerun asks again
    }

    [Fact]
    public async Task A_rubric_file_replaces_the_grading_prompt()
    {
        using var dir = new TempDir();
        var prompts = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var judge = FakeTeacher.ByPrompt((_, prompt) => { prompts.Add(prompt); return new FakeTeacher.Reply(200, """{"verdict":"wrong","fluency":"2","reason":"strict"}"""); });
        var rubric = dir.Write("rubric.txt", "严格评分。问题：{question}\n参考：{reference}\n回答：{answer}\n只回复 JSON。");
        var results = Results() with { Checkpoints = [Results().Checkpoints[0]], Questions = Results().Questions.Select(q => q with { Answers = [q.Answers[0]] }).ToList() };
        var r = await Judge.RunAsync(results, Options(judge, dir["c.jsonl"], rubric: rubric));
        Assert.Equal(4, r.Graded[0].Wrong);
        Assert.Contains(prompts, p => p.StartsWith("严格评分。问题：《静夜思》的作者是谁？\n参考：李白\n回答：李白", StringComparison.Ordinal));
        var missing = dir.Write("bad.txt", "no placeholders");
        var e = await Assert.ThrowsAsync<MiniGlmException>(() => Judge.RunAsync(results, Options(judge, dir["c.jsonl"], rubric: missing)));
        Assert.Contains("{question}", e.Message);
    }

    [Fact]
    public void Eval_with_a_judge_writes_it_into_the_report_and_a_failing_judge_leaves_a_partial_one()
    {
        using var dir = new TempDir();
        var qa = dir.Write("qa.jsonl", string.Concat(Items.Select(x => JsonSerializer.Serialize(new { Question = x.Q, Answer = x.Reference, Key = x.Key }) + "\n")));
        var a = TinyCheckpoint.Create(dir["a"], ChatTemplate.Seed);
        var b = TinyCheckpoint.Create(dir["b"], ChatTemplate.Seed, blockSize: 16);
        using var judge = FakeTeacher.ByPrompt((_, prompt) => Fair(prompt));
        string[] args = ["eval", "--ckpt", a, "--ckpt", b, "--qa", qa, "--max_new_tokens", "4", "--out", dir["report"], "--judge", judge.Url, "--judge_model", "fake"];
        var (code, stdout, stderr) = Cli.Run(args);
        Assert.True(code == 0, stderr);
        Assert.Contains("judge cost: 16 requests (0 from the cache", stdout);
        Assert.Contains("a vs b · judge:", stdout.Replace(a, "a").Replace(b, "b"));
        Assert.Contains("Judged by a language model", File.ReadAllText(dir["report/report.html"]));
        using (var json = JsonDocument.Parse(File.ReadAllText(dir["report/results.json"])))
            Assert.Equal(2, json.RootElement.GetProperty("judge").GetProperty("graded").GetArrayLength());

        (code, stdout, stderr) = Cli.Run(args);
        Assert.True(code == 0, stderr);
        Assert.Contains("judge cost: 0 requests (16 from the cache", stdout);
        Assert.Equal(16, judge.Requests);

        // A judge that fails: one clear line, the report written, the judgement marked partial.
        using var down = FakeTeacher.ByPrompt((_, _) => new FakeTeacher.Reply(500, "internal error"));
        (code, stdout, stderr) = Cli.Run(["eval", "--ckpt", a, "--qa", qa, "--max_new_tokens", "4", "--out", dir["report2"],
            "--judge", down.Url, "--judge_model", "fake", "--judge_retries", "0"]);
        Assert.Equal(0, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("judge:"));
        Assert.Contains("HTTP 500", line);
        Assert.Contains("partial", File.ReadAllText(dir["report2/report.html"]));
        Assert.DoesNotContain("   at ", stderr);

        (code, _, stderr) = Cli.Run(["eval", "--ckpt", a, "--qa", qa, "--out", dir["r3"], "--judge_model", "x"]);
        Assert.Equal(1, code);
        Assert.Contains("--judge_model needs --judge URL", stderr);
    }

    [Fact]
    public async Task Our_own_serve_can_be_the_judge()
    {
        // A tiny random model cannot judge: every verdict is unparseable, counted, and the run still completes.
        await using var server = new ServerUnderTest(twoModels: false);
        using var dir = new TempDir();
        var options = new JudgeOptions
        {
            Endpoint = new ChatEndpointOptions { Url = new Uri(server.Address, "v1").ToString(), Model = "chat", Retries = 0, MaxOutputTokens = 8 },
            CachePath = dir["c.jsonl"], Concurrency = 2,
        };
        var r = await Judge.RunAsync(Results(), options);
        Assert.Equal(0, r.Cost.Failed);
        Assert.Equal(16, r.Cost.Requests);
        Assert.Equal(8, r.Graded.Sum(g => g.Unparseable + g.Refused + g.Judged));
        Assert.True(r.Cost.CompletionTokens > 0, "serve's usage was not read");
    }
}
