using MiniGlm.SftData;

namespace MiniGlm.Tests;

/// sft-data build with a knowledge base: answers computed from a small hand-made chinese-poetry package.
public class SftDataBuildTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// A package in the real layout, already simplified. Traps: 无题 is a title two poets used; 杂诗 is two poems of
    /// one poet; 春眠不觉晓 is continued differently by two poems; 王建 is in both dynasties; 静夜思 is in the
    /// anthology and in the full collection.
    private string Package()
    {
        dir.Write("pkg/dist/quantangshi/唐诗三百首.json", """
            [{"title":"静夜思","author":"李白","paragraphs":["床前明月光，疑是地上霜。","举头望明月，低头思故乡。"]},
             {"title":"杂诗","author":"王维","paragraphs":["君自故乡来，应知故乡事。","来日绮窗前，寒梅著花未？"]},
             {"title":"杂诗","author":"王维","paragraphs":["已见寒梅发，复闻啼鸟声。"]},
             {"title":"无题","author":"李商隐","paragraphs":["相见时难别亦难，东风无力百花残。"]},
             {"title":"春晓","author":"孟浩然","paragraphs":["春眠不觉晓，处处闻啼鸟。","夜来风雨声，花落知多少。"]},
             {"title":"宫词","author":"王建","paragraphs":["树头树底觅残红，一片西飞一片东。"]},
             {"title":"古风","author":"李白","paragraphs":["大雅久不作，吾衰竟谁陈。（一作吾衰竟谁陈）","王风委蔓草，战国多荆榛。","龙虎相啖食，兵戈逮狂秦。","正声何微茫，哀怨起骚人。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/poet.tang.0.json", """
            [{"title":"静夜思","author":"李白","paragraphs":["床前明月光，疑是地上霜。","举头望明月，低头思故乡。"]},
             {"title":"无题","author":"无名氏","paragraphs":["一二三四五，上山打老虎。"]},
             {"title":"春日","author":"某甲","paragraphs":["春眠不觉晓，花落知多少。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/poet.song.0.json", """[{"title":"宫词其二","author":"王建","paragraphs":["别是一首诗。"]}]""");
        dir.Write("pkg/dist/songci/宋词三百首.json", """
            [{"rhythmic":"水调歌头","author":"苏轼","paragraphs":["明月几时有？把酒问青天。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/authors.tang.json", """
            [{"name":"李白","desc":"李白，字太白。其先陇西成纪人。天宝初，召供奉翰林。"},{"name":"王建","desc":"王建，字仲初。"}]
            """);
        dir.Write("pkg/dist/songci/author.song.json", """[{"name":"苏轼","description":"苏轼，字子瞻。--又一说"}]""");
        return dir["pkg"];
    }

    private static readonly Func<string, int> Chars = s => s.Length;

    private PoetryKnowledgeBase Kb() => PoetryKnowledgeBase.Load(Package(), toSimplified: null);

    private static List<QaItem> Of(QaBuild b, string type) => b.Train.Where(q => q.Type == type).ToList();

    [Fact]
    public void Answers_come_from_the_package_and_ambiguous_facts_are_skipped()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, PhrasingsPerFact = 1, NextLinesPerPoem = 10 }, Chars);

        var who = Of(build, "who_wrote").ToDictionary(q => q.Question[(q.Question.IndexOf('《') + 1)..q.Question.IndexOf('》')]);
        Assert.Equal("李白", who["静夜思"].Key);
        Assert.Equal("《静夜思》的作者是唐代诗人李白。", who["静夜思"].Answer);
        Assert.Equal("王维", who["杂诗"].Key);                       // two poems, one poet: still one author
        Assert.Equal("苏轼", who["水调歌头·明月几时有"].Key);          // a ci is named 词牌·first line
        Assert.Contains("宋代词人", who["水调歌头·明月几时有"].Answer);
        Assert.False(who.ContainsKey("无题"));                      // 李商隐 and 无名氏 both wrote a 无题

        var recite = Of(build, "recite");
        Assert.Contains(recite, q => q.Question.Contains("李商隐的《无题》") && q.Answer == "相见时难别亦难，东风无力百花残。");
        Assert.DoesNotContain(recite, q => q.Question.Contains("杂诗"));  // which of the two?
        var jys = Assert.Single(recite, q => q.Question.Contains("《静夜思》"));
        Assert.Equal("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", jys.Answer);
        Assert.Contains(recite, q => q.Answer.StartsWith("大雅久不作，吾衰竟谁陈。\n")); // the editor's note is gone

        var next = Of(build, "next_line").ToDictionary(q => q.Key!, q => q.Answer);
        Assert.Equal("“床前明月光”的下一句是“疑是地上霜”。", next["疑是地上霜"]);
        Assert.Equal("“疑是地上霜”的下一句是“举头望明月”。", next["举头望明月"]); // across lines too
        Assert.DoesNotContain(Of(build, "next_line"), q => q.Question.Contains("春眠不觉晓")); // two continuations

        var bio = Of(build, "author_bio").ToDictionary(q => q.Key!, q => q.Answer);
        Assert.Equal("苏轼，字子瞻。", bio["苏轼"]);
        Assert.False(bio.ContainsKey("王建"));                      // 王建 is in both dynasties' poems
        Assert.DoesNotContain(Of(build, "author_dynasty"), q => q.Key == "宋" && q.Question.StartsWith("王建"));
        Assert.Contains(Of(build, "author_dynasty"), q => q.Question.StartsWith("李白") && q.Answer == "李白是唐代人。");
        Assert.Contains(Of(build, "author_works"), q => q.Question.Contains("李白") && q.Answer.Contains("《静夜思》") && q.Answer.Contains("《古风》"));
        Assert.DoesNotContain(build.Train, q => q.Question.Contains("无名氏") || q.Answer.Contains("无名氏"));
        Assert.All(build.Train, q => Assert.Contains(q.Key!, q.Answer));
    }

    [Fact]
    public void Long_answers_are_skipped_or_cut_at_a_sentence()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, MaxAnswerTokens = 20 }, Chars);
        Assert.DoesNotContain(Of(build, "recite"), q => q.Question.Contains("《静夜思》")); // 25 characters
        Assert.Contains(Of(build, "recite"), q => q.Question.Contains("《无题》"));          // 16
        Assert.Equal("李白，字太白。其先陇西成纪人。", Of(build, "author_bio").First(q => q.Key == "李白").Answer);
        Assert.True(build.Skipped["recite: longer than max_answer_tokens"] >= 1);
    }

    [Fact]
    public void Max_lines_keeps_only_short_poems_and_their_poets()
    {
        var kb = Kb();
        int shortest = kb.Poems.Where(p => p.Anthology is not null).Min(p => p.Lines.Count);
        Assert.Contains(kb.Poems, p => p.Anthology is not null && p.Lines.Count > shortest); // the filter has work to do
        var build = PoetryQuestions.Build(kb, new PoetryQaOptions { HeldOutFraction = 0, MaxLines = shortest }, Chars);
        var recited = Of(build, "recite").Select(q => q.Answer).ToHashSet();
        Assert.NotEmpty(recited);
        Assert.All(recited, text => Assert.True(text.Split('\n').Length <= shortest));
        var poets = kb.Poems.Where(p => p.Anthology is not null && p.Lines.Count <= shortest).Select(p => p.Author).ToHashSet();
        Assert.NotEmpty(Of(build, "author_dynasty"));
        Assert.All(Of(build, "author_dynasty"), q => Assert.Contains(q.Answer[..q.Answer.IndexOf("是")], poets)); // "李白是唐代人。"
    }

    [Fact]
    public void Phrasings_sampling_and_seed_are_honoured()
    {
        var kb = Kb();
        var options = new PoetryQaOptions { HeldOutFraction = 0, MaxPerTemplate = 1, Seed = 7 };
        var build = PoetryQuestions.Build(kb, options, Chars);
        Assert.All(build.PerTemplate.Values, n => Assert.Equal(1, n));
        Assert.Equal(build.Train.Count, build.PerTemplate.Values.Sum());
        Assert.All(build.PerTemplate.Keys, name => Assert.True(int.Parse(name.Split('#')[1]) <= PoetryPhrasings.Training));
        Assert.Equal(build.Train, PoetryQuestions.Build(kb, options, Chars).Train);
        Assert.NotEqual(build.Train, PoetryQuestions.Build(kb, options with { Seed = 8 }, Chars).Train);

        var two = PoetryQuestions.Build(kb, new PoetryQaOptions { HeldOutFraction = 0, PhrasingsPerFact = 2 }, Chars);
        foreach (var fact in two.Train.GroupBy(q => (q.Type, q.Answer)))
            Assert.Equal(fact.Count(), fact.Select(q => q.Question).Distinct().Count()); // never the same phrasing twice
        Assert.Contains(two.Train.GroupBy(q => (q.Type, q.Answer)), g => g.Count() == 2);
    }

    [Fact]
    public void Held_out_sets_never_share_a_question_and_unseen_facts_are_never_trained()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0.4, Seed = 3 }, Chars);
        Assert.NotEmpty(build.HeldOutUnseen);
        Assert.NotEmpty(build.HeldOutParaphrase);
        var trainQuestions = build.Train.Select(q => QaItem.Comparable(q.Question)).ToHashSet();
        Assert.All(build.HeldOutUnseen.Concat(build.HeldOutParaphrase), q => Assert.DoesNotContain(QaItem.Comparable(q.Question), trainQuestions));
        // Unseen: no training question has that answer for that type. Paraphrase: some training question does.
        var trainFacts = build.Train.Select(q => (q.Type, q.Answer)).ToHashSet();
        Assert.All(build.HeldOutUnseen, q => Assert.DoesNotContain((q.Type, q.Answer), trainFacts));
        Assert.All(build.HeldOutParaphrase, q => Assert.Contains((q.Type, q.Answer), trainFacts));
        var heldOutPhrasings = PoetryPhrasings.ByType.Values.SelectMany(p => p.Skip(PoetryPhrasings.Training)).ToList();
        Assert.All(build.HeldOutParaphrase, q => Assert.Contains(heldOutPhrasings,
            p => q.Question.StartsWith(p[..p.IndexOf("{x}")]) && q.Question.EndsWith(p[(p.IndexOf("{x}") + 3)..])));

        // The knowledge text holds what training asks about (a recited poem) and nothing held out.
        Assert.All(build.Train.Where(q => q.Type == "recite"), q => Assert.Contains(q.Answer, build.KnowledgeText));
        Assert.All(build.HeldOutUnseen.Where(q => q.Type is "recite" or "author_bio"), q => Assert.DoesNotContain(q.Answer, build.KnowledgeText));

        var leak = new QaItem(build.Train[0].Question + "。", "x");
        Assert.Throws<MiniGlmException>(() => HeldOutSplit.EnsureDisjoint(build.Train, [leak]));
    }

    [Fact]
    public void Cli_writes_the_set_the_held_out_files_and_a_summary_that_prepare_sft_reads()
    {
        var package = Package();
        var output = dir["qa/poetry.jsonl"];
        var (code, stdout, stderr) = Cli.Run("sft-data", "build", "--kb", "chinese-poetry", "--package", package, "--keep_traditional",
            "--out", output, "--heldout_fraction", "0.3");
        Assert.True(code == 0, stderr);
        Assert.Contains("who_wrote", stdout);
        Assert.True(File.Exists(dir["qa/heldout_paraphrase.jsonl"]) && File.Exists(dir["qa/heldout_unseen.jsonl"]));
        var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir["qa/poetry.summary.json"])).RootElement;
        Assert.Equal(QaFile.Read(output).Count, summary.GetProperty("questions").GetInt32());
        Assert.Equal(QaFile.Read(dir["qa/heldout_unseen.jsonl"]).Count, summary.GetProperty("heldout_unseen").GetInt32());
        Assert.True(summary.GetProperty("skipped").GetProperty("who_wrote: title used by several poets").GetInt32() >= 1);
        Assert.Empty(Directory.GetFiles(dir["qa"], "*.tmp-*"));

        var prepared = Cli.Run("prepare-sft", "--input", output, "--out", dir["sft"], "--block_size", "64", "--strict");
        Assert.True(prepared.Code == 0, prepared.Err);
        Assert.Contains($"{QaFile.Read(output).Count} read", prepared.Out);

        Assert.Equal(1, Cli.Run("sft-data", "build", "--kb", "chinese-poetry", "--package", dir["nowhere"], "--keep_traditional", "--out", output).Code);
    }
}
