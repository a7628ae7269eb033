using System.Text;
using MiniGlm.Corpora;
using MiniGlm.Evaluation;
using MiniGlm.Questions;

namespace MiniGlm.Tests;

/// Questions computed from a person's own text: encodings, structure, every question type with known answers,
/// ambiguity skipped, bad input refused in one line, and `sft-data build --text` end to end.
public class TextQuestionsTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// Three chapters in the 论语's layout. Traps: 不亦乐乎 is in two chapters (ambiguous: never asked), 子告之曰 has no
    /// clear speaker, 子谓子夏曰 is said by 孔子 (not 子夏).
    private const string Lunyu = """
        论语

        学而篇
        子曰：“学而时习之，不亦说乎？有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？”
        曾子曰：“吾日三省吾身：为人谋而不忠乎？与朋友交而不信乎？传不习乎？”
        子谓子夏曰：“女为君子儒，无为小人儒。”

        为政篇
        子曰：“为政以德，譬如北辰，居其所而众星共之。”
        子贡问君子。子曰：“先行其言而后从之。”
        樊迟御，子告之曰：“孟孙问孝于我，我对曰无违。”

        述而篇
        子曰：“三人行，必有我师焉。择其善者而从之，其不善者而改之。”
        子曰：“默而识之，学而不厌，诲人不倦，不亦乐乎？”
        """;

    private static QaBuild Build(string text, string name = "论语.txt", TextQaOptions? options = null) =>
        TextQuestions.Build([TextBook.Parse(name, text)], options ?? new TextQaOptions { PerParagraph = 100, PhrasingsPerFact = 1, HeldOutFraction = 0 },
            s => s.Length);

    private static IEnumerable<QaPair> All(QaBuild b) => b.Train.Concat(b.HeldOutUnseen);

    private static QaPair One(QaBuild b, string type, string about) =>
        Assert.Single(All(b).Where(q => q.Type == type && q.Answer.Contains(about)).DistinctBy(q => q.Answer));

    [Fact]
    public void Structure_of_a_text_with_title_lines()
    {
        var book = TextBook.Parse("/x/lunyu.txt", Lunyu);
        Assert.Equal("论语", book.Name);   // the first short line, not the file name
        Assert.Equal("篇", book.Unit);
        Assert.Equal(["学而篇", "为政篇", "述而篇"], book.Chapters.Select(c => c.Name));
        Assert.Equal(3, book.Chapters[0].Paragraphs.Count);
        Assert.False(book.English);
    }

    [Fact]
    public void Explicit_headings_author_lines_and_english_chapters()
    {
        var novel = TextBook.Parse("猴王.txt", "作者：吴承恩\n第一回 灵根育孕源流出\n诗曰：混沌未分天地乱。\n第二回　悟彻菩提真妙理\n却说美猴王荣归故里。\n");
        Assert.Equal("吴承恩", novel.Author);
        Assert.Equal("回", novel.Unit);
        Assert.Equal(["灵根育孕源流出", "悟彻菩提真妙理"], novel.Chapters.Select(c => c.Name));

        var essays = TextBook.Parse("essays.txt", "郑伯克段于鄢\n先秦·左丘明\n初，郑武公娶于申，曰武姜，生庄公及共叔段。\n曹刿论战\n作者：左丘明\n十年春，齐师伐我。公将战，曹刿请见。\n");
        Assert.Equal(["左丘明", "左丘明"], essays.Chapters.Select(c => c.Author));

        var english = TextBook.Parse("tale.txt", "The Tale\nby Ann Writer\n\nChapter 1\nThe Door\n\"I will go now,\" said Alice. The door was open and the room was dark.\n" +
                                                 "CHAPTER II\nThe Key\nShe found the key under the old mat by the door.\n# Chapter Three\nIt rained all day long in the town.\n");
        Assert.True(english.English);
        Assert.Equal("The Tale", english.Name);
        Assert.Equal("Ann Writer", english.Author);
        Assert.Equal(["The Door", "The Key", "Chapter Three"], english.Chapters.Select(c => c.Name));
        Assert.Equal(("Alice", "I will go now"), english.Speech(english.Chapters[0].Paragraphs[0]).Single());
    }

    [Fact]
    public void Every_question_type_has_the_answer_the_text_gives()
    {
        var b = Build(Lunyu);
        Assert.Equal("学而篇", One(b, "chapter_title", "第一篇").Key);
        Assert.Equal("第三篇", One(b, "chapter_number", "述而篇是").Key);
        Assert.Equal("为政篇", One(b, "chapter_next", "学而篇的下一篇").Key);
        Assert.Equal("为政篇", One(b, "chapter_prev", "述而篇的上一篇").Key);
        Assert.Equal("述而篇", Assert.Single(All(b), q => q.Type == "chapter_last").Key);
        Assert.Equal("三", Assert.Single(All(b), q => q.Type == "chapter_count").Key);
        Assert.Equal("不亦说乎", One(b, "next_clause", "“学而时习之”的下一句").Key);
        Assert.Equal("学而时习之", One(b, "prev_clause", "“不亦说乎”的上一句").Key);
        Assert.Equal("述而篇", One(b, "clause_source", "“三人行”出自").Key);
        Assert.Equal("曾子", One(b, "who_said", "“吾日三省吾身”").Key);
        Assert.Equal("孔子", One(b, "who_said", "“学而时习之”").Key);
        Assert.Equal("孔子", One(b, "who_said", "“无为小人儒”").Key);   // 子谓子夏曰: 子 speaks
        var opening = One(b, "recite_opening", "学而时习之");
        Assert.Equal("学而时习之", opening.Key);
        Assert.StartsWith("子曰：“学而时习之", opening.Answer);
        Assert.All(b.Train, q => Assert.True(AnswerScore.Contains(q.Answer, q.Key!), $"{q.Answer} lacks its key {q.Key}"));
    }

    [Fact]
    public void Ambiguity_is_skipped_and_counted_never_answered()
    {
        var b = Build(Lunyu);
        Assert.DoesNotContain(All(b), q => q.Question.Contains("不亦乐乎"));                // in two chapters
        Assert.True(b.Skipped["next_clause: the clause occurs more than once"] > 0);
        Assert.DoesNotContain(All(b), q => q.Type == "who_said" && q.Answer.Contains("孟孙问孝于我")); // 子告之曰
        Assert.True(b.Skipped["who_said: the speaker is not a clear name"] > 0);
        Assert.DoesNotContain(All(b), q => q.Type == "who_said" && q.Key is "子夏" or "子告之" or "樊迟");
    }

    [Fact]
    public void English_text_is_asked_in_english()
    {
        var text = "Chapter 1: The Door\n\"I will go to the market today,\" said Alice. The door was open and the room was dark.\n" +
                   "Chapter 2: The Key\nShe found the key under the old mat. \"It was here all along,\" Bob said.\n";
        var b = Build(text, "tale.txt");
        Assert.Equal("Alice", One(b, "who_said", "I will go to the market today").Key);
        Assert.Equal("Bob", One(b, "who_said", "It was here all along").Key);
        Assert.Equal("The Key", One(b, "chapter_next", "After \"The Door\"").Key);
        Assert.Equal("The Key", One(b, "clause_source", "She found the key under the old mat").Key);
        Assert.All(b.Train, q => Assert.DoesNotContain(q.Question, c => TextBook.IsCjk(c)));
    }

    [Fact]
    public void Held_out_sets_keep_their_promises()
    {
        var b = Build(Lunyu, options: new TextQaOptions { HeldOutFraction = 0.34, PhrasingsPerFact = 2, PerParagraph = 100 });
        Assert.NotEmpty(b.HeldOutUnseen);
        Assert.NotEmpty(b.HeldOutParaphrase);
        Assert.NotEmpty(b.Conversations);
        HeldOutSplit.EnsureDisjoint(b.Train, b.HeldOutParaphrase.Concat(b.HeldOutUnseen));
        // The unseen paragraphs are not in the pretraining text; every chapter's first paragraph is.
        foreach (var q in b.HeldOutUnseen.Where(q => q.Type == "next_clause"))
            Assert.DoesNotContain(q.Answer[1..q.Answer.IndexOf('”')], b.KnowledgeText, StringComparison.Ordinal); // the clause asked about
        Assert.Contains("学而时习之", b.KnowledgeText);
    }

    [Theory]
    [InlineData("utf-8", "utf-8")]
    [InlineData("utf-8-bom", "utf-8 (BOM)")]
    [InlineData("utf-16le", "utf-16le (BOM)")]
    [InlineData("utf-16be", "utf-16be (BOM)")]
    [InlineData("gb18030", "gb18030")]
    public void Each_encoding_is_detected(string written, string detected)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var bytes = written switch
        {
            "utf-8" => new UTF8Encoding(false).GetBytes(Lunyu),
            "utf-8-bom" => [0xEF, 0xBB, 0xBF, .. new UTF8Encoding(false).GetBytes(Lunyu)],
            "utf-16le" => [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(Lunyu)],
            "utf-16be" => [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(Lunyu)],
            _ => Encoding.GetEncoding("gb18030").GetBytes(Lunyu),
        };
        var file = TextFile.Read(dir.Write($"{written}.txt", bytes));
        Assert.Equal(detected, file.Encoding);
        Assert.Equal(Lunyu.Replace("\r\n", "\n"), file.Text);
    }

    [Fact]
    public void Encoding_can_be_forced_and_crlf_becomes_lf()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var path = dir.Write("big5.txt", Encoding.GetEncoding("big5").GetBytes("學而篇\r\n子曰：學而時習之。\r\n"));
        var file = TextFile.Read(path, "big5");
        Assert.Equal("學而篇\n子曰：學而時習之。\n", file.Text);
        Assert.Equal("big5", file.Encoding);
        Assert.Contains("unknown encoding", Assert.Throws<MiniGlmException>(() => TextFile.Read(path, "no-such-encoding")).Message);
    }

    [Fact]
    public void Bad_inputs_get_one_clear_line_and_no_output()
    {
        var empty = Directory.CreateDirectory(dir["empty"]).FullName;
        var binary = dir.Write("bin/blob.txt", [.. Enumerable.Range(0, 512).Select(i => (byte)(i * 37 % 256))]);
        var blank = dir.Write("blank/blank.txt", "\n\n  \n");
        var noSentences = dir.Write("nos/nos.txt", "1 2\n3 4\n");
        var tiny = dir.Write("tiny/tiny.txt", "学而篇\n子曰：“学而时习之，不亦说乎？”\n");
        foreach (var (path, message) in new[]
                 {
                     (empty, "directory has no *.txt files"), (binary, "looks like a binary file"), (blank, "the file is empty"),
                     (noSentences, "no sentences found"), (tiny, "too small to make questions from"),
                 })
        {
            var outFile = dir[$"out-{Path.GetFileName(path)}/qa.jsonl"];
            var (code, _, err) = Cli.Run("sft-data", "build", "--text", path, "--keep_traditional", "--out", outFile);
            Assert.Equal(1, code);
            Assert.Contains(message, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.False(Directory.Exists(Path.GetDirectoryName(outFile)) && Directory.EnumerateFiles(Path.GetDirectoryName(outFile)!, "*", SearchOption.AllDirectories).Any(),
                $"{path}: something was written");
        }
    }

    [Fact]
    public void Traditional_text_is_converted_and_long_text_cut()
    {
        var path = dir.Write("t/lunyu.txt", Lunyu.Replace("学", "學"));
        var loaded = TextLibrary.Read([path], null, t => t.Replace("學", "学"), 120, _ => { });
        var book = Assert.Single(loaded.Books);
        Assert.Equal("学而篇", book.Chapters[0].Name);
        Assert.True(loaded.UsedChars <= 120 && loaded.UsedChars < loaded.TotalChars);
        Assert.True(book.Chapters.Count < 3);
    }

    [Fact]
    public void Sft_data_build_text_writes_the_poetry_layout()
    {
        var text = dir.Write("books/lunyu.txt", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "examples", "text", "lunyu-3.txt")));
        var output = dir["qa/text.jsonl"];
        var (code, stdout, err) = Cli.Run("sft-data", "build", "--text", dir["books"], "--keep_traditional", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("read as utf-8", stdout);
        foreach (var name in new[] { "heldout_paraphrase.jsonl", "heldout_unseen.jsonl", "heldout_multiturn.jsonl", "conversations.jsonl", "inset.jsonl", "knowledge/book.txt", "text.summary.json" })
            Assert.True(File.Exists(dir[$"qa/{name}"]), name);
        Assert.Contains(QaReader.Read(output).Items, q => q.Key == "学而篇");
        var multiTurn = QaReader.Read(dir["qa/heldout_multiturn.jsonl"]);
        Assert.NotEmpty(multiTurn.Items);
        Assert.Empty(multiTurn.Problems);
    }
}
