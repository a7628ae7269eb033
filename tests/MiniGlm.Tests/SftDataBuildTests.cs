using MiniGlm.Evaluation;
using MiniGlm.Generation;
using MiniGlm.Questions;

namespace MiniGlm.Tests;

/// sft-data build with a knowledge base: answers computed from a small hand-made chinese-poetry package.
public class SftDataBuildTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// A package in the real layout, already simplified. 唐诗三百首 is mengxue/tangshisanbaishou.json (sections of
    /// poems with chapter, author, paragraphs); quantangshi/唐诗三百首.json holds the full collection's variants and a
    /// wrong poet, and must not be read. Traps: 春怨 is two anthology poems of two poets; 杂诗 is two poems of one
    /// poet; 无题 is an anthology title another (unknown) poet used outside it; 登鹳雀楼 is in the anthology by 王之涣
    /// and in the full collection by 畅当 too; 静夜思 is in the full collection in the 全唐诗 variant; 一二三四五 is
    /// continued differently by two poems outside the anthologies; 王建 is in both dynasties; notes in brackets
    /// (one run over three paragraphs), a couplet closed with ， and a 律诗 laid out four clauses a paragraph.
    private string Package()
    {
        dir.Write("pkg/dist/mengxue/tangshisanbaishou.json", """
            {"title":"唐诗三百首","content":[
             {"type":"五言绝句","content":[
              {"chapter":"静夜思","subchapter":null,"author":"李白","paragraphs":["床前明月光，疑是地上霜，","举头望明月，低头思故乡。"]},
              {"chapter":"相思","subchapter":null,"author":"王维","paragraphs":["红豆生南国，春来发几枝。","愿君多采撷，此物最相思。"]},
              {"chapter":"登鹳雀楼","subchapter":null,"author":"王之涣","paragraphs":["白日依山尽，黄河入海流。","欲穷千里目，更上一层楼。"]},
              {"chapter":"春怨","subchapter":"春怨 / 伊州歌","author":"金昌绪","paragraphs":["打起黄莺儿，莫教枝上啼。","啼时惊妾梦，不得到辽西。"]},
              {"chapter":"江雪","subchapter":null,"author":"柳宗元","paragraphs":["千山鸟飞绝，万径人踪灭。","孤舟蓑笠翁，独钓寒江雪。"]},
              {"chapter":"山中送别","subchapter":null,"author":"王维","paragraphs":["山中相送罢，日暮掩柴扉。","春草明年绿，王孙归不归？(明年 一作：年年)"]},
              {"chapter":"杂诗","subchapter":"杂诗三首·其二","author":"王维","paragraphs":["君自故乡来，应知故乡事。","来日绮窗前，寒梅著花未？"]},
              {"chapter":"杂诗","subchapter":"杂诗三首·其三","author":"王维","paragraphs":["已见寒梅发，复闻啼鸟声。"]},
              {"chapter":"春晓","subchapter":null,"author":"孟浩然","paragraphs":["春眠不觉晓，处处闻啼鸟。","夜来风雨声，花落知多少。"]}]},
             {"type":"七言绝句","content":[
              {"chapter":"春怨","subchapter":null,"author":"刘方平","paragraphs":["纱窗日落渐黄昏，金屋无人见泪痕。","寂寞空庭春欲晚，梨花满地不开门。"]},
              {"chapter":"夜上受降城闻笛","subchapter":null,"author":"李益","paragraphs":["回乐烽前沙似雪，受降城外月如霜。(回乐","一作：回乐","）","不知何处吹芦管，一夜征人尽望乡。"]},
              {"chapter":"无题","subchapter":null,"author":"李商隐","paragraphs":["相见时难别亦难，东风无力百花残。"]},
              {"chapter":"宫词","subchapter":null,"author":"王建","paragraphs":["树头树底觅残红，一片西飞一片东。"]}]},
             {"type":"五言律诗","content":[
              {"chapter":"月夜","subchapter":null,"author":"杜甫","paragraphs":["今夜鄜州月，闺中只独看。遥怜小儿女，未解忆长安。","香雾云鬟湿，清辉玉臂寒。何时倚虚幌，双照泪痕干。"]}]},
             {"type":"乐府","content":[
              {"chapter":"出塞·秦时明月汉时关","subchapter":"出塞二首·其一","author":"王昌龄","paragraphs":["秦时明月汉时关，万里长征人未还。","但使龙城飞将在，不教胡马度阴山。"]},
              {"chapter":"古风","subchapter":null,"author":"李白","paragraphs":["大雅久不作，吾衰竟谁陈。（一作吾衰竟谁陈）","王风委蔓草，战国多荆榛。","龙虎相啖食，兵戈逮狂秦。","正声何微茫，哀怨起骚人。"]}]}]}
            """);
        dir.Write("pkg/dist/quantangshi/唐诗三百首.json", """
            [{"title":"颂古三十二首 其二三","author":"释明辩","paragraphs":["打起黄莺儿，莫教枝上啼。","啼时惊妾梦，不得到辽西。"]},
             {"title":"静夜思","author":"李白","paragraphs":["床前看月光，疑是地上霜。","举头望山月，低头思故乡。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/poet.tang.0.json", """
            [{"title":"静夜思","author":"李白","paragraphs":["床前看月光，疑是地上霜。","举头望山月，低头思故乡。"]},
             {"title":"登鹳雀楼","author":"畅当","paragraphs":["迥临飞鸟上，高出世尘间。","天势围平野，河流入断山。"]},
             {"title":"无题","author":"无名氏","paragraphs":["一二三四五，上山打老虎。"]},
             {"title":"数数","author":"某乙","paragraphs":["一二三四五，六七八九十。"]},
             {"title":"春日","author":"某甲","paragraphs":["春眠不觉晓，花落知多少。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/poet.song.0.json", """[{"title":"宫词其二","author":"王建","paragraphs":["别是一首诗。"]}]""");
        dir.Write("pkg/dist/songci/宋词三百首.json", """
            [{"rhythmic":"水调歌头","author":"苏轼","paragraphs":["明月几时有？把酒问青天。"]}]
            """);
        dir.Write("pkg/dist/quantangshi/authors.tang.json", """
            [{"name":"李白","desc":"李白，字太白。其先陇西成纪人。天宝初，召供奉翰林。"},{"name":"王建","desc":"王建，字仲初。"},
             {"name":"王维","desc":"王维，字摩诘。"},{"name":"柳宗元","desc":"柳宗元，字子厚。"}]
            """);
        dir.Write("pkg/dist/songci/author.song.json", """[{"name":"苏轼","description":"苏轼，字子瞻。--又一说"}]""");
        return dir["pkg"];
    }

    private static readonly Func<string, int> Chars = s => s.Length;

    private PoetryKnowledgeBase Kb() => PoetryKnowledgeBase.Load(Package(), toSimplified: null);

    private static List<QaPair> Of(QaBuild b, string type) => b.Train.Where(q => q.Type == type).ToList();

    [Theory]
    [InlineData("pkg/dist/mengxue/tangshisanbaishou.json", "唐诗三百首")]
    [InlineData("pkg/dist/songci/宋词三百首.json", "宋词三百首")]
    public void A_package_without_an_anthology_is_refused_in_one_line(string file, string name)
    {
        var package = Package();
        File.Delete(dir[file]);
        var e = Assert.Throws<MiniGlmException>(() => PoetryKnowledgeBase.Load(package, toSimplified: null));
        Assert.Equal($"{dir[file]}: missing ({name}, the poems the questions are about); fetch the package again: ./miniglm data fetch chinese-poetry", e.Message);
    }

    [Fact]
    public void The_anthology_gives_the_text_and_the_poet_people_know()
    {
        var kb = Kb();
        var jys = Assert.Single(kb.Poems, p => p.Title == "静夜思");            // the full collection's variant is dropped
        Assert.Equal("床前明月光，疑是地上霜。举头望明月，低头思故乡。", string.Concat(jys.Lines));
        Assert.Equal("唐诗三百首", jys.Anthology);
        Assert.Contains("春来发几枝", Assert.Single(kb.Poems, p => p.Title == "相思").Text);
        Assert.Equal("金昌绪", Assert.Single(kb.Poems, p => p.Lines[0].StartsWith("打起黄莺儿")).Author);
        Assert.DoesNotContain(kb.Poems, p => p.Author == "释明辩");          // quantangshi/唐诗三百首.json is not read
        Assert.Equal("王之涣", kb.AuthorOfTitle("登鹳雀楼"));                  // though 畅当 wrote one too
        Assert.Equal("畅当的《登鹳雀楼》", kb.Label(kb.Poems.Single(p => p.Author == "畅当")));
        Assert.Equal("《登鹳雀楼》", kb.Label(kb.Poems.Single(p => p.Author == "王之涣")));
        Assert.Null(kb.AuthorOfTitle("春怨"));                                 // two anthology poems: 金昌绪's, 刘方平's
        Assert.Equal("金昌绪的《春怨》", kb.Label(kb.Poems.Single(p => p.Author == "金昌绪")));
        // Notes gone (one ran over three paragraphs), couplets as in the full collections, titles as people say them.
        Assert.Equal(["回乐烽前沙似雪，受降城外月如霜。", "不知何处吹芦管，一夜征人尽望乡。"], kb.Poems.Single(p => p.Author == "李益").Lines);
        Assert.Equal("山中相送罢，日暮掩柴扉。\n春草明年绿，王孙归不归？", kb.Poems.Single(p => p.Title == "山中送别").Text);
        Assert.Equal(4, kb.Poems.Single(p => p.Title == "月夜").Lines.Count);
        Assert.Equal("王昌龄", kb.AuthorOfTitle("出塞"));
        // A line of an anthology poem is that poem's, whatever the full collections do with it.
        Assert.Equal("处处闻啼鸟", kb.NextLine("春眠不觉晓"));
        Assert.Equal("举头望明月", kb.NextLine("疑是地上霜"));
        Assert.Null(kb.NextLine("一二三四五"));                                 // two poems outside the anthologies
        Assert.Equal("江雪", kb.SourceOf("千山鸟飞绝")?.Title);
        Assert.Null(kb.SourceOf("一二三四五"));
    }

    [Fact]
    public void Answers_come_from_the_package_and_ambiguous_facts_are_skipped()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, PhrasingsPerFact = 1, NextLinesPerPoem = 10 }, Chars);

        var who = Of(build, "who_wrote").ToDictionary(q => q.Answer[1..q.Answer.IndexOf('》')]);
        Assert.Equal("李白", who["静夜思"].Key);
        Assert.Equal("《静夜思》的作者是唐代诗人李白。", who["静夜思"].Answer);
        Assert.Equal("王之涣", who["登鹳雀楼"].Key);
        Assert.Equal("王昌龄", who["出塞"].Key);
        Assert.Equal("王维", who["杂诗"].Key);                       // two poems, one poet: still one author
        Assert.Equal("苏轼", who["水调歌头·明月几时有"].Key);          // a ci is named 词牌·first line
        Assert.Contains("宋代词人", who["水调歌头·明月几时有"].Answer);
        Assert.Equal("李商隐", who["无题"].Key);                      // the anthology's 无题, not 无名氏's
        Assert.False(who.ContainsKey("春怨"));                       // 金昌绪 and 刘方平 both have one in the anthology

        var recite = Of(build, "recite");
        Assert.Contains(recite, q => q.Question.Contains("金昌绪的《春怨》") || q.Question.Contains("金昌绪的春怨"));
        Assert.Contains(recite, q => q.Answer == "金昌绪的《春怨》：打起黄莺儿，莫教枝上啼。\n啼时惊妾梦，不得到辽西。"); // names what it recites
        Assert.DoesNotContain(recite, q => q.Question.Contains("杂诗"));  // which of the two?
        var jys = Assert.Single(recite, q => q.Answer.StartsWith("《静夜思》"));
        Assert.Equal("《静夜思》：床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", jys.Answer);
        Assert.Contains(recite, q => q.Answer.StartsWith("《古风》：大雅久不作，吾衰竟谁陈。\n")); // the editor's note is gone

        var next = Of(build, "next_line").ToDictionary(q => q.Key!, q => q.Answer);
        Assert.Equal("“床前明月光”的下一句是“疑是地上霜”。", next["疑是地上霜"]);
        Assert.Equal("“疑是地上霜”的下一句是“举头望明月”。", next["举头望明月"]); // across lines too
        Assert.Equal("“春眠不觉晓”的下一句是“处处闻啼鸟”。", next["处处闻啼鸟"]);

        var bio = Of(build, "author_bio").ToDictionary(q => q.Key!, q => q.Answer);
        Assert.Equal("苏轼，字子瞻。", bio["苏轼"]);
        Assert.False(bio.ContainsKey("王建"));                      // 王建 is in both dynasties' poems
        Assert.DoesNotContain(Of(build, "author_dynasty"), q => q.Key == "宋" && q.Question.StartsWith("王建"));
        Assert.Contains(Of(build, "author_dynasty"), q => q.Question.StartsWith("李白") && q.Answer == "李白是唐代人。");
        Assert.Contains(Of(build, "author_works"), q => q.Question.Contains("李白") && q.Answer.Contains("《静夜思》") && q.Answer.Contains("《古风》"));
        Assert.DoesNotContain(build.Train, q => q.Question.Contains("无名氏") || q.Answer.Contains("无名氏"));
        Assert.All(build.Train, q => Assert.Contains(q.Key!, q.Answer));

        // Every poem: 畅当's is named by its poet and not asked as 《登鹳雀楼》; lines outside the anthologies that
        // poems continue differently are not asked.
        var all = PoetryQuestions.Build(Kb(), new PoetryQaOptions { AllPoems = true, HeldOutFraction = 0, PhrasingsPerFact = 1, NextLinesPerPoem = 10 }, Chars);
        Assert.DoesNotContain(Of(all, "who_wrote"), q => q.Key == "畅当" || q.Key == "无名氏");
        Assert.Contains(Of(all, "recite"), q => q.Question.Contains("畅当的") && q.Answer.StartsWith("畅当的《登鹳雀楼》：迥临飞鸟上"));
        Assert.DoesNotContain(Of(all, "next_line"), q => q.Question.Contains("一二三四五"));
        Assert.DoesNotContain(Of(all, "next_line"), q => q.Key == "花落知多少" && q.Question.Contains("春眠不觉晓"));
        Assert.DoesNotContain(Of(all, "line_source"), q => q.Question.Contains("一二三四五"));
    }

    [Fact]
    public void A_line_is_asked_for_its_poem()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, PhrasingsPerFact = 3, NextLinesPerPoem = 10 }, Chars);
        var source = Of(build, "line_source");
        var jiangxue = source.Where(q => q.Question.Contains("千山鸟飞绝")).ToList();
        Assert.Equal(3, jiangxue.Count);
        Assert.All(jiangxue, q => { Assert.Equal("“千山鸟飞绝”出自柳宗元的《江雪》。", q.Answer); Assert.Equal("江雪", q.Key); });
        Assert.Contains(source, q => q.Answer == "“打起黄莺儿”出自金昌绪的《春怨》。");
    }

    [Fact]
    public void Phrasings_include_how_people_type_and_held_out_ones_differ_from_every_trained_one()
    {
        foreach (var (type, phrasings) in PoetryPhrasings.ByType)
        {
            var comparable = phrasings.Select(p => QaPair.Comparable(PoetryPhrasings.Ask(type, Array.IndexOf(phrasings, p), "《某》"))).ToList();
            Assert.Equal(comparable.Count, comparable.Distinct().Count());   // no two the same question
            Assert.True(PoetryPhrasings.Training(type) >= 10, type);
            Assert.Contains(phrasings.Take(PoetryPhrasings.Training(type)), p => "呀啥呢吗".Any(p.Contains) || !"？。".Any(p.Contains));
        }
        Assert.Contains(PoetryPhrasings.ByType["who_wrote"], p => p == "{x}谁写的");   // 静夜思谁写的
        Assert.Contains(PoetryPhrasings.ByType["recite"], p => p.Contains("{bare}"));   // no 《》
        Assert.Equal("背一下静夜思", PoetryPhrasings.Ask("recite", Array.IndexOf(PoetryPhrasings.ByType["recite"], "背一下{bare}"), "《静夜思》"));
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
        var options = new PoetryQaOptions { HeldOutFraction = 0, MaxPerTemplate = 1, Seed = 7, RefusalShare = 0 };
        var build = PoetryQuestions.Build(kb, options, Chars);
        Assert.All(build.PerTemplate.Values, n => Assert.Equal(1, n));
        Assert.Equal(build.Train.Count, build.PerTemplate.Values.Sum());
        Assert.All(build.PerTemplate.Keys, name => Assert.True(int.Parse(name.Split('#')[1]) <= PoetryPhrasings.Training(name.Split('#')[0])));
        Assert.Equal(build.Train, PoetryQuestions.Build(kb, options, Chars).Train);
        Assert.NotEqual(build.Train, PoetryQuestions.Build(kb, options with { Seed = 8 }, Chars).Train);

        var two = PoetryQuestions.Build(kb, new PoetryQaOptions { HeldOutFraction = 0, PhrasingsPerFact = 2, RefusalShare = 0 }, Chars);
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
        var trainQuestions = build.Train.Select(q => QaPair.Comparable(q.Question)).ToHashSet();
        Assert.All(build.HeldOutUnseen.Concat(build.HeldOutParaphrase), q => Assert.DoesNotContain(QaPair.Comparable(q.Question), trainQuestions));
        // Unseen: no training question has that answer for that type. Paraphrase: some training question does.
        // Unseen: poems and poets kept out of the knowledge, asked as training asks, answered with a refusal that
        // names what was asked; no training question has that answer.
        var trainFacts = build.Train.Select(q => (q.Type, q.Answer)).ToHashSet();
        Assert.All(build.HeldOutUnseen, q => Assert.DoesNotContain((q.Type, q.Answer), trainFacts));
        Assert.All(build.HeldOutUnseen, q => { Assert.StartsWith("refuse_", q.Type); Assert.StartsWith("我没有读过", q.Answer); });
        Assert.All(build.HeldOutParaphrase, q => Assert.Contains((q.Type, q.Answer), trainFacts));
        var heldOutPhrasings = PoetryPhrasings.ByType.Values.SelectMany(p => p.Skip(p.Length - PoetryPhrasings.HeldOut)).ToList();
        Assert.All(build.HeldOutParaphrase, q => Assert.Contains(heldOutPhrasings,
            p => q.Question.StartsWith(p[..p.IndexOf("{x}")]) && q.Question.EndsWith(p[(p.IndexOf("{x}") + 3)..])));

        // The knowledge text holds what training asks about (a recited poem) and nothing held out.
        Assert.All(build.Train.Where(q => q.Type == "recite"), q => Assert.Contains(q.Answer[(q.Answer.IndexOf('：') + 1)..], build.KnowledgeText));
        Assert.All(build.HeldOutUnseen.Where(q => q.Type == "refuse_line"), q => Assert.DoesNotContain(q.Answer.Split('“', '”')[1], build.KnowledgeText));

        var leak = new QaPair(build.Train[0].Question + "。", "x");
        Assert.Throws<MiniGlmException>(() => HeldOutSplit.EnsureDisjoint(build.Train, [leak]));
    }

    [Fact]
    public void Conversations_ask_trained_questions_with_their_gold_answers_and_held_out_ones_end_in_a_never_trained_question()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0.2, Seed = 5, ConversationShare = 0.5, PhrasingsPerFact = 3 }, Chars);
        Assert.InRange(build.Conversations.Count, 1, (int)Math.Round(build.Train.Count * 0.5));
        var trained = build.Train.ToHashSet();
        foreach (var c in build.Conversations)
        {
            Assert.InRange(c.Turns.Count, 2, 4);
            Assert.Contains(c.Turns[0], trained);                                    // a training question, its gold answer
            Assert.All(c.Turns.Where(t => !t.Type!.StartsWith("follow_")), t => Assert.Contains(t, trained));
            Assert.Equal(c.Turns.Count, c.Turns.Select(t => (t.Type, t.Answer)).Distinct().Count()); // never the same fact twice
            Assert.True(c.Turns.Sum(t => ChatTemplate.Seed.PromptText(t.Question).Length + t.Answer.Length + 1) <= 200);
        }
        Assert.Contains(build.Conversations, c => c.Turns.Count >= 3);
        // Follow-ups about the same poem or poet: some next turn's key or answer names the previous turn's poet.
        Assert.Contains(build.Conversations, c => c.Turns.Zip(c.Turns.Skip(1)).Any(p => p.First.Type == "who_wrote" && p.Second.Answer.Contains(p.First.Key!)));

        Assert.NotEmpty(build.HeldOutMultiTurn);
        var trainedQuestions = build.Train.Select(q => QaPair.Comparable(q.Question)).ToHashSet();
        foreach (var c in build.HeldOutMultiTurn)
        {
            Assert.InRange(c.Turns.Count, 2, 4);
            Assert.Contains(c.Turns[^1], build.HeldOutParaphrase);                   // a held-out phrasing of a trained fact
            Assert.DoesNotContain(QaPair.Comparable(c.Turns[^1].Question), trainedQuestions);
            Assert.All(c.Turns.SkipLast(1), t => Assert.Contains(t, trained));
            Assert.DoesNotContain(c.Turns.SkipLast(1), t => t.Type == c.Turns[^1].Type && t.Answer == c.Turns[^1].Answer);
        }
    }

    [Fact]
    public void Follow_ups_lean_on_the_turn_before_and_their_answers_name_what_it_named()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, Seed = 5, ConversationShare = 3, PhrasingsPerFact = 3 }, Chars);
        var pairs = build.Conversations.SelectMany(c => c.Turns.Zip(c.Turns.Skip(1))).Where(p => p.Second.Type!.StartsWith("follow_")).ToList();
        foreach (var reference in new[] { "poem", "poet", "line", "ordinal" })
            Assert.Contains(pairs, p => p.Second.Type == $"follow_{reference}");
        static string Title(string answer) => answer[answer.IndexOf('《')..(answer.IndexOf('》') + 1)];
        foreach (var (before, follow) in pairs)
        {
            Assert.DoesNotContain("《", follow.Question);                            // short: it names nothing
            Assert.Contains(follow.Key!, follow.Answer);
            switch (follow.Type)
            {
                case "follow_poem" or "follow_ordinal": Assert.Contains(Title(follow.Answer), before.Answer); break;
                case "follow_line": Assert.StartsWith($"“{before.Answer.Split('“', '”')[^2]}”的下一句是", follow.Answer); break;
                case "follow_poet": Assert.True(before.Answer.Contains(follow.Answer[..2]) || before.Answer.StartsWith('《')); break; // the poet, or his poem
            }
        }
        Assert.Contains(pairs, p => p.Second.Question == "背一下" || p.Second.Question == "背一下这首诗");
        Assert.Contains(pairs, p => p.Second.Answer == "《江雪》的第三句是“孤舟蓑笠翁”。" || p.Second.Answer.StartsWith("《江雪》的第") || p.Second.Answer.StartsWith("《江雪》的最后"));

        // Held out: the last question is a short form no training question uses, one set per kind of reference.
        var trained = build.Train.Concat(build.Conversations.SelectMany(c => c.Turns)).Select(q => QaPair.Comparable(q.Question)).ToHashSet();
        Assert.NotEmpty(build.HeldOutFollowUp);
        Assert.All(build.HeldOutFollowUp, c =>
        {
            Assert.StartsWith("follow_", c.Turns[^1].Type);
            Assert.DoesNotContain(QaPair.Comparable(c.Turns[^1].Question), trained);
            Assert.Contains(c.Turns[0], build.Train);
        });
        Assert.Contains(build.HeldOutFollowUp, c => c.Turns[^1].Type == "follow_poet");
    }

    [Fact]
    public void Refusals_name_what_was_asked_and_never_deny_what_it_read()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, RefusalShare = 1, MaxLines = 2 }, Chars);
        var refusals = build.Train.Where(q => q.Type!.StartsWith("refuse_")).ToList();
        Assert.NotEmpty(refusals);
        Assert.All(refusals, q => Assert.Equal(PoetryRefusals.Key, q.Key));
        var known = build.Train.Where(q => q.Type == "recite").Select(q => q.Answer).ToList();
        // 畅当's 登鹳雀楼 is not read (max_lines 2 keeps the anthology's), but its title is a poem it read: never refused.
        Assert.DoesNotContain(refusals, q => q.Answer.Contains("《登鹳雀楼》") || q.Answer.Contains("《静夜思》"));
        Assert.Contains(refusals, q => q.Answer is "我没有读过《数数》。" or "我没有读过《春日》。" or "我没有读过某甲的作品。" or "我没有读过某乙的作品。"
            or "我没有读过“迥临飞鸟上”这句。" or "我没有读过“六七八九十”这句。");
        Assert.All(refusals.Where(q => q.Type == "refuse_line"), q => Assert.DoesNotContain(q.Answer.Split('“', '”')[1], build.KnowledgeText));
        Assert.All(refusals.Where(q => q.Type == "refuse_poet"), q => Assert.DoesNotContain(q.Answer[5..^4], build.KnowledgeText));
        Assert.DoesNotContain(refusals, q => q.Answer.Contains("其"));                    // 宫词其二: not a title people ask for
        // The held-out unread set asks about other poems and poets than training's refusals.
        var asked = refusals.Select(q => q.Answer).ToHashSet();
        Assert.All(build.HeldOutUnread, q => Assert.DoesNotContain(q.Answer, asked));
    }

    [Fact]
    public void Famous_quatrains_are_asked_for_every_line_and_other_poems_for_their_first_and_last()
    {
        var build = PoetryQuestions.Build(Kb(), new PoetryQaOptions { HeldOutFraction = 0, NextLinesPerPoem = 1, PhrasingsPerFact = 1 }, Chars);
        string[] jiangxue = ["千山鸟飞绝", "万径人踪灭", "孤舟蓑笠翁", "独钓寒江雪"];
        Assert.Equal(jiangxue[1..], Of(build, "next_line").Select(q => q.Key!).Where(jiangxue.Contains).Order());
        Assert.Equal(jiangxue.Order(), Of(build, "line_source").Where(q => q.Key == "江雪").Select(q => jiangxue.First(q.Question.Contains)).Order());
        // 山中送别 is not famous: one line each, the first line's next line and the first line's poem.
        Assert.Single(Of(build, "next_line"), q => q.Answer.StartsWith("“山中相送罢”"));
        Assert.Single(Of(build, "line_source"), q => q.Key == "山中送别" && q.Question.Contains("山中相送罢"));
    }

    [Fact]
    public void Cli_writes_the_set_the_held_out_files_and_a_summary_that_prepare_sft_reads()
    {
        var package = Package();
        var output = dir["qa/poetry.jsonl"];
        var (code, stdout, stderr) = Cli.Run("sft-data", "build", "--kb", "chinese-poetry", "--package", package, "--keep_traditional",
            "--out", output, "--heldout_fraction", "0.3", "--conversation_share", "0.5");
        Assert.True(code == 0, stderr);
        Assert.Contains("who_wrote", stdout);
        Assert.Contains("《静夜思》: line_source, next_line, recite, who_wrote", stdout);
        Assert.True(File.Exists(dir["qa/heldout_paraphrase.jsonl"]) && File.Exists(dir["qa/heldout_unseen.jsonl"]));
        var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir["qa/poetry.summary.json"])).RootElement;
        int Count(string file) => QaReader.Read(dir[$"qa/{file}"]).ItemCount;
        Assert.Equal(Count("poetry.jsonl"), summary.GetProperty("questions").GetInt32());
        Assert.Equal(Count("heldout_unseen.jsonl"), summary.GetProperty("heldout_unseen").GetInt32());
        Assert.Equal(Count("conversations.jsonl"), summary.GetProperty("conversations").GetInt32());
        Assert.Equal(Count("heldout_multiturn.jsonl"), summary.GetProperty("heldout_multiturn").GetInt32());
        Assert.Equal(Count("heldout_followup.jsonl"), summary.GetProperty("heldout_followup").GetInt32());
        Assert.Equal(Count("heldout_unread.jsonl"), summary.GetProperty("heldout_unread").GetInt32());
        Assert.True(summary.GetProperty("skipped").GetProperty("who_wrote: title used by several poets").GetInt32() >= 1);
        Assert.Empty(Directory.GetFiles(dir["qa"], "*.tmp-*"));

        // The conversations as eval reads them: the last exchange is the question, the earlier ones its history.
        var multi = QaReader.Read(dir["qa/heldout_multiturn.jsonl"]);
        Assert.Empty(multi.Problems);
        Assert.All(multi.Items, q => { Assert.InRange(q.History.Count, 1, 3); Assert.NotNull(q.Type); Assert.Contains(q.Key!, q.Answer); });

        var prepared = Cli.Run("prepare-sft", "--input", dir["qa/conversations.jsonl"], "--input", output, "--out", dir["sft"], "--block_size", "256", "--strict");
        Assert.True(prepared.Code == 0, prepared.Err);
        Assert.Contains($"{Count("poetry.jsonl") + Count("conversations.jsonl")} read", prepared.Out);

        Assert.Equal(1, Cli.Run("sft-data", "build", "--kb", "chinese-poetry", "--package", dir["nowhere"], "--keep_traditional", "--out", output).Code);
    }
}
