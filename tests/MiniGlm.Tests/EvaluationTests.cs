using System.Text.Json;
using MiniGlm.Data;
using MiniGlm.Tokenization;
using MiniGlm.Evaluation;
using MiniGlm.Generation;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// QA files, the eval command end to end on two tiny checkpoints, and its report.
public class EvaluationTests
{
    private const string Questions = """
        {"Question": "《静夜思》的作者是谁？", "Answer": "李白", "Type": "who_wrote", "Key": "李白"}
        {"question": "床前明月光的下一句是什么？", "answer": "疑是地上霜。", "type": "next_line"}
        this is not json
        [1, 2]
        {"Question": "没有答案"}
        {"Question": 5, "Answer": "数字"}

        {"Question": "<script>alert(1)</script>是什么？", "Answer": "a <b>bold</b> & | pipe", "Type": "who_wrote", "Key": "<b>"}
        """;

    [Fact]
    public void Qa_reader_keeps_good_lines_and_reports_each_bad_one_with_its_line()
    {
        using var tmp = new TempDir();
        var path = tmp.Write("qa.jsonl", Questions);
        var file = QaReader.Read(path);
        Assert.Equal(3, file.ItemCount);
        Assert.Equal(7, file.Lines); // non-blank lines
        Assert.Equal(new QaItem("床前明月光的下一句是什么？", "疑是地上霜。", "next_line", null, path, 2), file.Items[1]);
        Assert.Equal("李白", file.Items[0].Key);
        Assert.Equal(4, file.Malformed);
        Assert.StartsWith($"{path}:3: bad JSON", file.Problems[0]);
        Assert.StartsWith($"{path}:4: not a JSON object", file.Problems[1]);
        Assert.Equal($"{path}:5: missing or empty \"Answer\"", file.Problems[2]);
        Assert.Equal($"{path}:6: \"Question\" must be a string, got number", file.Problems[3]);
        Assert.Equal(8, file.Items[2].Line);
        Assert.Single(QaReader.Read(path, limit: 1).Items);
    }

    [Fact]
    public void Qa_reader_limit_takes_questions_in_turn_from_each_type()
    {
        using var tmp = new TempDir();
        var lines = new[] { "a", "a", "a", "b", "b", "c" }.Select((t, i) => $"{{\"Question\": \"q{i}\", \"Answer\": \"x\", \"Type\": \"{t}\"}}");
        var path = tmp.Write("grouped.jsonl", string.Join("\n", lines));
        Assert.Equal(["q0", "q3", "q5", "q1"], QaReader.Read(path, limit: 4).Items.Select(i => i.Question));
        Assert.Equal(6, QaReader.Read(path, limit: 100).ItemCount);
    }

    [Fact]
    public void A_conversation_is_asked_after_its_history_with_reference_answers_and_scored_on_its_last_answer()
    {
        using var tmp = new TempDir();
        var path = tmp.Write("multi.jsonl", """
            {"messages": [{"role": "user", "content": "《江雪》是谁写的？"}, {"role": "assistant", "content": "柳宗元。"}, {"role": "user", "content": "背一下静夜思"}, {"role": "assistant", "content": "床前明月光"}], "Type": "recite", "Key": "床前明月光"}
            {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
            {"messages": [{"role": "user", "content": "a"}]}
            {"Question": "背一下静夜思", "Answer": "床前明月光", "Type": "recite", "Key": "床前明月光"}
            """);
        var file = QaReader.Read(path);
        Assert.Equal(2, file.ItemCount);
        var item = file.Items[0];
        Assert.Equal(("背一下静夜思", "床前明月光", "recite", "床前明月光"), (item.Question, item.Answer, item.Type, item.Key));
        Assert.Equal([new Exchange("《江雪》是谁写的？", "柳宗元。")], item.History);
        Assert.Empty(file.Items[1].History);
        Assert.Contains("message 1 is \"user\" where \"assistant\" was expected", file.Problems[0]);
        Assert.Contains("must end with the assistant's reference answer", file.Problems[1]);

        using var model = LoadedModel.Load(TinyCheckpoint.Create(tmp["ckpt"], ChatTemplate.Seed, blockSize: 128, maxTurns: 4));
        var t = model.Tokenizer;
        var budget = QaEval.Budget(model);
        List<int> expected = [.. t.Encode("问：《江雪》是谁写的？\n答："), .. t.Encode("柳宗元。"), t.EotId, .. t.Encode("问：背一下静夜思\n答：")];
        Assert.Equal(expected, QaEval.Prompt(budget, item, 4));
        Assert.Equal(t.Encode("问：背一下静夜思\n答："), QaEval.Prompt(budget, file.Items[1], 4));

        // Scored on the last answer only, and set beside the same question asked alone.
        var scores = QaEval.Answer(model, file.Items, new EvalSettings { Sampling = EvalSettings.Greedy(4) });
        Assert.Equal(2, scores.Count);
        Assert.NotNull(scores[0].KeyMatch);
        QuestionResult Result(QaItem q, bool key) => new()
        {
            File = q.File, Line = q.Line, Type = q.Type, Key = q.Key, Question = q.Question, Reference = q.Answer,
            History = q.History.Count == 0 ? null : q.History, Answers = [new AnswerScore { Answer = "", KeyMatch = key }],
        };
        var rows = MultiTurnComparison.Of([Result(item, false), Result(file.Items[1], true)], 0);
        Assert.Equal([new TurnComparison("recite", 1, 1.0, 0.0), new TurnComparison("all", 1, 1.0, 0.0)], rows);
        Assert.Empty(MultiTurnComparison.Of([Result(file.Items[1], true)], 0));
    }

    [Fact]
    public void Eval_sets_the_last_questions_of_conversations_beside_the_same_questions_asked_alone()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"], ChatTemplate.Seed);
        var alone = tmp.Write("alone.jsonl", "{\"Question\": \"《静夜思》的作者是谁？\", \"Answer\": \"李白\", \"Type\": \"who_wrote\", \"Key\": \"李白\"}\n");
        var multi = tmp.Write("multi.jsonl", """
            {"messages": [{"role": "user", "content": "床前明月光的下一句是什么？"}, {"role": "assistant", "content": "疑是地上霜。"}, {"role": "user", "content": "《静夜思》的作者是谁？"}, {"role": "assistant", "content": "李白"}], "Type": "who_wrote", "Key": "李白"}
            """);
        var (code, stdout, stderr) = Cli.Run("eval", "--ckpt", ckpt, "--qa", alone, "--qa", multi, "--out", tmp["report"], "--max_new_tokens", "3");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"key match alone → last in a conversation: who_wrote 0 ?% → 0 ?% of 1; all 0 ?% → 0 ?% of 1", stdout);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["report"], "results.json")));
        var questions = json.RootElement.GetProperty("questions");
        Assert.False(questions[0].TryGetProperty("history", out _));
        Assert.Equal("疑是地上霜。", questions[1].GetProperty("history")[0].GetProperty("assistant").GetString());
        Assert.Contains("<section id=\"multi-turn\">", File.ReadAllText(Path.Combine(tmp["report"], "report.html")));
    }

    [Fact]
    public void Greedy_answers_are_reproducible_and_failures_are_flagged()
    {
        using var tmp = new TempDir();
        using var model = LoadedModel.Load(TinyCheckpoint.Create(tmp["ckpt"], ChatTemplate.Seed));
        var items = QaReader.Read(tmp.Write("qa.jsonl", Questions)).Items;
        var settings = new EvalSettings { Sampling = EvalSettings.Greedy(6) };
        var first = QaEval.Answer(model, items, settings);
        var second = QaEval.Answer(model, items, settings);
        Assert.Equal(first.Select(a => a.Answer), second.Select(a => a.Answer));
        // A random model never says end-of-text in 6 tokens: every answer is cut at the limit.
        Assert.All(first, a => { Assert.True(a.Truncated); Assert.Equal(6, a.Tokens); });
        Assert.All(first, a => Assert.Equal(a.Answer.Contains('\uFFFD'), a.Broken));
        Assert.Null(first[1].KeyMatch);
        Assert.NotNull(first[0].KeyMatch);
    }

    [Fact]
    public void Eval_compares_two_checkpoints_in_a_complete_self_contained_report()
    {
        using var tmp = new TempDir();
        var a = TinyCheckpoint.Create(Path.Combine(tmp["run-a"], "best"), ChatTemplate.Seed);
        var b = TinyCheckpoint.Create(tmp["ckpt-b"], blockSize: 64); // pretrained (no template), other weights
        File.WriteAllText(Path.Combine(tmp["run-a"], MetricsLog.FileName),
            "{\"iter\":0,\"split\":\"val\",\"loss\":10.8}\n{\"iter\":1,\"split\":\"train\",\"loss\":10.5}\n{\"iter\":2,\"split\":\"val\",\"loss\":9.9}\n");
        tmp.Write("text/poems.txt", string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。举头望明月，低头思故乡。\n", 40)));
        Assert.Equal(0, Cli.Run("prepare", "--input", tmp["text"], "--out", tmp["data"]).Code);
        var qa1 = tmp.Write("qa1.jsonl", Questions);
        var qa2 = tmp.Write("qa2.jsonl", "{\"Question\": \"春眠不觉晓的下一句？\", \"Answer\": \"处处闻啼鸟。\", \"Type\": \"next_line\"}\n");
        var outDir = tmp["report"];

        var (code, stdout, stderr) = Cli.Run("eval", "--ckpt", tmp["run-a"], "--ckpt", b, "--dataset", tmp["data"],
            "--qa", qa1, "--qa", qa2, "--out", outDir, "--max_new_tokens", "5", "--lm_windows", "3");
        Assert.True(code == 0, stderr);
        Assert.Contains("[2/2]", stdout);
        Assert.Contains("val loss", stdout);
        Assert.Contains("qa1.jsonl:3: bad JSON", stderr); // malformed lines reported, not fatal

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var root = json.RootElement;
        Assert.True(root.GetProperty("settings").GetProperty("greedy").GetBoolean());
        var ckpts = root.GetProperty("checkpoints");
        Assert.Equal(2, ckpts.GetArrayLength());
        var expectedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(a, "model.safetensors"))));
        Assert.Equal(expectedHash, ckpts[0].GetProperty("weights_sha256").GetString());
        Assert.NotEqual(expectedHash, ckpts[1].GetProperty("weights_sha256").GetString());
        foreach (var c in ckpts.EnumerateArray())
        {
            var lm = c.GetProperty("lm");
            Assert.Equal(Math.Exp(lm.GetProperty("val_loss").GetDouble()), lm.GetProperty("perplexity").GetDouble(), 6);
            Assert.True(lm.GetProperty("bits_per_char").GetDouble() > 0);
            Assert.Equal(4, c.GetProperty("qa").GetProperty("count").GetInt32());
            Assert.Equal(1.0, c.GetProperty("qa").GetProperty("truncated_rate").GetDouble());
            var types = c.GetProperty("qa_files")[0].GetProperty("types");
            Assert.Equal(2, types.GetProperty("who_wrote").GetProperty("count").GetInt32());
            Assert.Equal(1, types.GetProperty("next_line").GetProperty("count").GetInt32());
        }
        Assert.Contains("seed's", ckpts[1].GetProperty("notes")[0].GetString());
        Assert.Equal(4, root.GetProperty("qa_files")[0].GetProperty("malformed").GetInt32());
        var questions = root.GetProperty("questions");
        Assert.Equal(4, questions.GetArrayLength());
        Assert.All(questions.EnumerateArray(), q => Assert.Equal(2, q.GetProperty("answers").GetArrayLength()));

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        var md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        foreach (var id in new[] { "settings", "checkpoints", "language-modelling", "question-answering", "per-type", "speed", "loss-curves", "charts", "samples", "malformed" })
        {
            Assert.Contains($"<section id=\"{id}\">", html);
            Assert.Contains($"<a id=\"{id}\"></a>", md);
        }
        // Self-contained: images inline, nothing fetched, model and file text escaped.
        Assert.True(html.Split("src=\"data:image/png;base64,").Length - 1 >= 4); // loss curves + quality, failures, types, bits/char
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("a &lt;b&gt;bold&lt;/b&gt; &amp; | pipe", html);
        Assert.Contains("a &lt;b&gt;bold&lt;/b&gt; &amp; \\| pipe", md);
        Assert.Contains("![Loss curves](loss.png)", md);
        Assert.True(File.Exists(Path.Combine(outDir, "loss.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "quality.png")));
        Assert.Contains("qa1.jsonl:4: not a JSON object", html);
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp-*"));

        // Without val_chars in meta.json (older datasets) the characters are counted from val.bin: same number.
        var meta = DatasetMeta.Load(tmp["data"]);
        using var val = TokenFile.Open(DatasetMeta.ValPath(tmp["data"]));
        Assert.Equal(meta.ValChars, LanguageModelEval.ValChars(meta with { ValChars = 0 }, val, TextTokenizer.Load(meta.Tokenizer)));
        Assert.Equal(meta.ValChars, root.GetProperty("dataset").GetProperty("val_chars").GetInt64());
    }

    [Fact]
    public void Eval_fails_in_one_line_before_loading_a_model_when_an_input_is_wrong()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        var (code, _, err) = Cli.Run("eval", "--ckpt", ckpt, "--qa", tmp["missing.jsonl"], "--out", tmp["r"]);
        Assert.Equal(1, code);
        Assert.Contains("missing.jsonl: QA file not found", err);
        (code, _, err) = Cli.Run("eval", "--ckpt", ckpt, "--out", tmp["r"]);
        Assert.Equal(1, code);
        Assert.Contains("nothing to measure", err);
        (code, _, err) = Cli.Run("eval", "--ckpt", ckpt, ckpt, "--qa", tmp.Write("q.jsonl", "{\"Question\":\"q\",\"Answer\":\"a\"}\n"), "--out", tmp["r"]);
        Assert.Contains("same checkpoint", err);
        var q = tmp.Write("q2.jsonl", "{\"Question\":\"q\",\"Answer\":\"a\"}\n");
        (_, _, err) = Cli.Run("eval", "--ckpt", ckpt, "--qa", q, q, "--out", tmp["r"]);
        Assert.Contains("given twice", err);
        Assert.False(Directory.Exists(tmp["r"]));
    }
}
