namespace MiniGlm.Questions;

/// What a person asks next about the poem, poet or line the previous answer named, and how they say it without
/// naming it again: 「背一下」 after who wrote 《春晓》, 「他还写过什么」 after its poet, 「下一句呢？」 after a line,
/// 「第三句是什么？」 after a poem. Every answer names what it is about (「《江雪》的第三句是“孤舟蓑笠翁”。」), so the
/// answer is right on its own and the next follow-up finds its subject in the turn just before.
internal sealed class PoetryFollowUps
{
    // The last form of each list is held out (FollowUps.HeldOut): heldout_followup.jsonl ends in those.
    private static readonly string[] Recite = ["背一下", "背一下这首诗", "这首诗怎么背？", "全文呢？", "它的全文是什么？", "背给我听听",
        "能背一下吗？", "原文呢", "这首诗的原文是什么？"];
    private static readonly string[] WhoWrote = ["作者是谁？", "这首诗是谁写的？", "谁写的？", "它是谁写的呀", "作者呢？", "这首是谁的诗",
        "谁写的这首诗", "这首诗出自哪位诗人之手？"];
    private static readonly string[] PoemDynasty = ["哪个朝代的？", "这首诗是哪个朝代的？", "是哪个朝代写的", "它是什么朝代的诗", "哪朝的",
        "这首诗写于哪个朝代？"];
    private static readonly string[] Ordinal = ["第{n}句是什么？", "第{n}句呢", "它的第{n}句是什么", "这首诗第{n}句是哪句", "第{n}句是啥",
        "第{n}句怎么背？"];
    private static readonly string[] NextLine = ["下一句呢？", "再下一句", "还有呢", "然后呢？", "接着呢", "下一句是什么", "后面呢",
        "再往下一句呢？"];
    private static readonly string[] Works = ["他还写过什么", "他写过哪些诗？", "他还有什么作品？", "他的代表作呢", "还写过别的诗吗",
        "他有哪些作品", "他还有哪些名篇？"];
    private static readonly string[] PoetDynasty = ["他是哪个朝代的？", "他是哪朝人", "哪个朝代的人？", "他生活在什么朝代", "他是哪个朝代的人呀",
        "他是什么时代的人？"];
    private static readonly string[] Bio = ["介绍一下他", "他是谁？", "说说他的生平", "讲讲这个人", "他是个什么人", "他是个怎样的人？"];

    /// Poets of the package whom people call 她.
    private static readonly HashSet<string> Women = ["李清照", "朱淑真", "薛涛", "鱼玄机", "上官婉儿", "魏夫人", "严蕊", "花蕊夫人",
        "张玉娘", "吴淑姬", "聂胜琼", "李冶", "刘采春", "孙道绚"];

    private static readonly string[] Numbers = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

    private readonly PoetryKnowledgeBase kb;
    private readonly ILookup<Poem, AskedFact> byPoem;
    private readonly ILookup<string, AskedFact> byPoet;

    public PoetryFollowUps(PoetryKnowledgeBase kb, IReadOnlyList<AskedFact> trained)
    {
        this.kb = kb;
        byPoem = trained.Where(a => a.Fact.Poem is not null).ToLookup(a => a.Fact.Poem!);
        byPoet = trained.Where(a => a.Fact.Type.StartsWith("author_")).ToLookup(a => a.Fact.Author);
    }

    /// The follow-ups a person may ask after an answer to <paramref name="fact"/>, each with the fact it asks
    /// (trained facts asked with one of their trained questions as the full form; others computed from the poem).
    public List<(PoetryFact Fact, FollowUpFact FollowUp)> After(PoetryFact fact, Random rng)
    {
        var next = new List<(PoetryFact, FollowUpFact)>();
        var poem = fact.Poem;
        bool namesPoem = poem is not null && fact.Type is "who_wrote" or "recite" or "line_source" or "poem_dynasty" or "nth_line";
        // 「他还写过什么」 after a recited poem means its poet too (the page showed it answered as nonsense when untrained).
        bool namesPoet = PoetryKnowledgeBase.IsNamed(fact.Author) && fact.Type is "who_wrote" or "line_source" or "poem_dynasty"
            or "recite" or "nth_line" or "author_bio" or "author_works" or "author_dynasty";
        if (namesPoem && kb.Label(poem!) is { } label)
        {
            var shortForms = poem!.IsCi ? (Func<string[], string[]>)(forms => [.. forms.Select(f => f.Replace("这首诗", "这首词").Replace("的诗", "的词"))]) : forms => forms;
            foreach (var a in byPoem[poem])
                if (a.Fact.Type == "recite") next.Add(Trained(a, "poem", shortForms(Recite), rng));
                else if (a.Fact.Type == "who_wrote") next.Add(Trained(a, "poem", shortForms(WhoWrote), rng));
            if (PoetryKnowledgeBase.IsNamed(poem.Author))
            {
                var answer = $"{label}是{poem.Dynasty}代{(poem.IsCi ? "词人" : "诗人")}{poem.Author}的作品。";
                next.Add(Computed(new PoetryFact("poem_dynasty", false, label, answer, poem.Dynasty, poem, poem.Author), "poem", shortForms(PoemDynasty)));
            }
            var lines = PoetryKnowledgeBase.Clauses(poem.Lines);
            if (lines.Count is >= 2 and <= 10)
            {
                int i = rng.Next(lines.Count);
                bool last = i == lines.Count - 1 && rng.Next(2) == 0;
                var nth = last ? "最后一" : $"第{Numbers[i]}";
                var forms = Ordinal.Select(f => f.Replace("第{n}", nth)).ToArray();
                next.Add(Computed(new PoetryFact("nth_line", false, lines[i], $"{label}的{nth}句是“{lines[i]}”。", lines[i], poem, poem.Author), "ordinal", shortForms(forms)));
            }
        }
        // The line the answer ended on: the next_line answer's second line, or the line an ordinal answer gave.
        string? line = fact.Type switch { "next_line" => fact.Key, "nth_line" => fact.X, _ => null };
        if (line is not null && poem is not null)
        {
            var lines = PoetryKnowledgeBase.Clauses(poem.Lines);
            int at = lines.IndexOf(line);
            if (at >= 0 && at + 1 < lines.Count && kb.NextLine(line) == lines[at + 1])
                next.Add(Computed(new PoetryFact("next_line", false, line, $"“{line}”的下一句是“{lines[at + 1]}”。", lines[at + 1], poem, poem.Author), "line", NextLine));
        }
        if (namesPoet)
        {
            var pronoun = Women.Contains(fact.Author) ? (Func<string[], string[]>)(forms => [.. forms.Select(f => f.Replace('他', '她'))]) : forms => forms;
            foreach (var a in byPoet[fact.Author])
            {
                var forms = a.Fact.Type switch { "author_works" => Works, "author_dynasty" => PoetDynasty, _ => Bio };
                next.Add(Trained(a, "poet", pronoun(forms), rng));
            }
        }
        return next;
    }

    private static (PoetryFact, FollowUpFact) Trained(AskedFact a, string reference, string[] forms, Random rng) =>
        (a.Fact, new FollowUpFact(a.Questions[rng.Next(a.Questions.Count)], reference, forms));

    private static (PoetryFact, FollowUpFact) Computed(PoetryFact f, string reference, string[] forms) =>
        (f, new FollowUpFact(new QaPair(forms[0], f.Answer, f.Type, f.Key), reference, forms));
}
