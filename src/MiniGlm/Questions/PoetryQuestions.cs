using MiniGlm.Generation;

namespace MiniGlm.Questions;

public sealed record PoetryQaOptions
{
    /// False: the poems of 唐诗三百首 and 宋词三百首 and their poets; true: every poem of the package.
    public bool AllPoems { get; init; }
    /// Only poems of at most this many lines (a quatrain has 2: two couplets); their poets' facts come with them.
    public int MaxLines { get; init; } = int.MaxValue;
    public int Seed { get; init; } = 1234;
    /// At most this many training questions per phrasing (type#n); the rest of the facts are not asked.
    public int MaxPerTemplate { get; init; } = int.MaxValue;
    /// Each training fact is asked with this many of its type's training phrasings (different ones).
    public int PhrasingsPerFact { get; init; } = 2;
    public int NextLinesPerPoem { get; init; } = 2;
    public int WorksListed { get; init; } = 5;
    /// Answers longer than this (GPT-2 tokens) are skipped (recite), cut at a sentence end (biographies) or
    /// list fewer works.
    public int MaxAnswerTokens { get; init; } = 200;
    /// A question whose whole example (`问：Q\n答：A<|endoftext|>`) is longer than this is not asked, so that
    /// prepare-sft at this block_size never cuts an answer.
    public int BlockSize { get; init; } = 256;
    /// The share of poems and of poets kept out of training: their facts make heldout_unseen.jsonl.
    public double HeldOutFraction { get; init; } = 0.05;
    /// At most this many questions of each type in each single-question held-out file.
    public int HeldOutPerType { get; init; } = 50;
    /// Conversations (2–4 turns) written beside the single questions, as a share of their number.
    public double ConversationShare { get; init; } = 0.2;
    /// A conversation's whole text is at most this many GPT-2 tokens: a conversation longer than the rows prepare-sft
    /// packs loses the end of its last answer. 200 fits rows of 128 tokens of the quickstart's 8k poetry tokenizer
    /// (about 0.9 token a character); the quickstart's rows of 256 take 400. Single questions fit block_size as counted.
    public int ConversationTokens { get; init; } = 200;
    /// At most this many conversations in heldout_multiturn.jsonl per type of their last question.
    public int HeldOutMultiTurnPerType { get; init; } = 25;
    /// Questions per type in inset.jsonl: trained questions (trained wording) about the first facts of
    /// heldout_paraphrase.jsonl, so a report sets memorized and reworded side by side on the same facts.
    public int InSetPerType { get; init; } = 15;
    /// Refusals (questions about titles, poets and lines of the package outside the knowledge, answered 「我没有读过…」)
    /// trained beside the single questions, as a share of their number.
    public double RefusalShare { get; init; } = 0.15;
    /// At most this many conversations in heldout_followup.jsonl per kind of reference of their last (short) question.
    public int HeldOutFollowUpPerReference { get; init; } = 25;
}

/// What a build produced: the training questions and conversations, the held-out sets, counts per phrasing, skips
/// by reason, the knowledge the training questions draw on as plain text (poems and biographies, held-out ones left
/// out), and for each of the poems a person asks about first, the question types trained on it.
public sealed record QaBuild(
    List<QaPair> Train, List<QaPair> HeldOutParaphrase, List<QaPair> HeldOutUnseen,
    SortedDictionary<string, int> PerTemplate, SortedDictionary<string, int> Skipped, string KnowledgeText)
{
    public List<Conversation> Conversations { get; init; } = [];
    /// Conversations whose last question is a held-out phrasing of a trained fact (the rest answered with gold answers).
    public List<Conversation> HeldOutMultiTurn { get; init; } = [];
    /// Training questions, as trained, about facts that heldout_paraphrase also asks.
    public List<QaPair> InSet { get; init; } = [];
    public SortedDictionary<string, string> Famous { get; init; } = [];
    /// Conversations whose last question is a held-out short form (「这首诗的原文是什么？」) about the turn before.
    public List<Conversation> HeldOutFollowUp { get; init; } = [];
    /// Refusals about package poems and poets outside the knowledge that training never asks about.
    public List<QaPair> HeldOutUnread { get; init; } = [];
}

/// Grounded questions about the poetry knowledge base: every answer is computed from the package, and a fact the
/// package leaves ambiguous is skipped (and counted), never guessed.
public static class PoetryQuestions
{
    /// The poems a person asks about first (the quatrains of 唐诗三百首 every school child learns): always trained,
    /// never drawn into the unseen held-out set, and neither are their poets.
    public static readonly IReadOnlyList<string> Famous =
    [
        "静夜思", "春晓", "登鹳雀楼", "相思", "江雪", "枫桥夜泊", "早发白帝城", "鹿柴", "寻隐者不遇", "出塞", "凉州词",
        "黄鹤楼送孟浩然之广陵", "登幽州台歌", "九月九日忆山东兄弟", "回乡偶书", "乌衣巷", "泊秦淮", "夜雨寄北", "登乐游原",
        "渭城曲", "芙蓉楼送辛渐", "江南逢李龟年", "赤壁", "游子吟", "望庐山瀑布",
    ];

    public static QaBuild Build(PoetryKnowledgeBase kb, PoetryQaOptions o, Func<string, int> countTokens)
    {
        var rng = new Random(o.Seed);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Skip(string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;

        var poems = kb.Poems.Where(p => (o.AllPoems || p.Anthology is not null) && p.Lines.Count <= o.MaxLines).ToList();
        var authors = poems.Select(p => p.Author).Concat(o.AllPoems && o.MaxLines == int.MaxValue ? kb.AuthorsWithBios : [])
            .Where(PoetryKnowledgeBase.IsNamed).Distinct().ToList();
        var famous = poems.Where(p => p.Anthology is not null && Famous.Contains(p.Title)).ToList();
        var famousPoets = famous.Select(p => p.Author).ToHashSet();
        var heldPoems = Sample(poems.Except(famous).ToList(), o.HeldOutFraction, rng);
        var heldAuthors = Sample(authors.Where(a => !famousPoets.Contains(a)).ToList(), o.HeldOutFraction, rng);
        heldPoems.UnionWith(poems.Where(p => heldAuthors.Contains(p.Author))); // a held-out poet is one it has read nothing of

        var facts = new List<PoetryFact>();
        var bios = new Dictionary<string, string>();
        foreach (var p in poems)
        {
            bool held = heldPoems.Contains(p);
            if (!PoetryKnowledgeBase.IsNamed(p.Author)) Skip("who_wrote: anonymous or a one-character name");
            else if (kb.AuthorOfTitle(p.Title) is not { } author) Skip("who_wrote: title used by several poets");
            else if (author != p.Author) Skip("who_wrote: the title means another poet's anthology poem");
            else facts.Add(new("who_wrote", held, p.Title, $"《{p.Title}》的作者是{p.Dynasty}代{(p.IsCi ? "词人" : "诗人")}{p.Author}。", p.Author, p, p.Author));

            var label = kb.Label(p);
            if (label is null) { Skip("recite, next_line, line_source: several poems of this title by this poet"); continue; }
            if (countTokens(p.Text) > o.MaxAnswerTokens) Skip("recite: longer than max_answer_tokens");
            else facts.Add(new("recite", held, label, $"{label}：{p.Text}", p.Lines[0], p, p.Author));

            // A famous poem is asked for every line; any other for its first and last lines first, then others.
            var lines = PoetryKnowledgeBase.Clauses(p.Lines);
            int perPoem = famous.Contains(p) ? int.MaxValue : o.NextLinesPerPoem;
            var asked = Enumerable.Range(0, Math.Max(0, lines.Count - 1)).Where(i => kb.NextLine(lines[i]) == lines[i + 1]).ToList();
            if (asked.Count < lines.Count - 1) Skip("next_line: lines other poems continue differently (poems)");
            foreach (var i in FirstAndLast(asked, 0, lines.Count - 2, rng).Take(perPoem))
                facts.Add(new("next_line", held, lines[i], $"“{lines[i]}”的下一句是“{lines[i + 1]}”。", lines[i + 1], p, p.Author));

            var own = Enumerable.Range(0, lines.Count).Where(i => kb.SourceOf(lines[i]) == p).ToList();
            if (own.Count < lines.Count) Skip("line_source: lines other poems have too (poems)");
            var named = PoetryKnowledgeBase.IsNamed(p.Author) ? $"{p.Author}的《{p.Title}》" : $"《{p.Title}》";
            foreach (var i in FirstAndLast(own, 0, lines.Count - 1, rng).Take(perPoem))
                facts.Add(new("line_source", held, lines[i], $"“{lines[i]}”出自{named}。", p.Title, p, p.Author));
        }
        foreach (var a in authors)
        {
            bool held = heldAuthors.Contains(a);
            var bio = kb.BioOf(a) is { } full ? FitSentences(full, o.MaxAnswerTokens, countTokens) : null;
            if (bio is null) Skip("author_bio: no biography, two people of this name, or first sentence too long");
            else { facts.Add(new("author_bio", held, a, bio, a, null, a)); bios[a] = bio; }

            // Listing a held-out poem would teach its author; anthology poems come first, as the best known.
            var works = kb.WorksOf(a).Where(p => !heldPoems.Contains(p)).OrderBy(p => p.Anthology is null)
                .Select(p => p.Title).Distinct().Take(o.WorksListed).ToList();
            string Works() => $"{a}的作品有{string.Join("、", works.Select(t => $"《{t}》"))}等。";
            while (works.Count > 1 && countTokens(Works()) > o.MaxAnswerTokens) works.RemoveAt(works.Count - 1);
            if (works.Count == 0 || countTokens(Works()) > o.MaxAnswerTokens) Skip("author_works: no works (or one title too long)");
            else facts.Add(new("author_works", held, a, Works(), works[0], null, a));

            if (kb.DynastyOf(a) is { } d) facts.Add(new("author_dynasty", held, a, $"{a}是{d}代人。", d, null, a));
            else Skip("author_dynasty: name found in both dynasties");
        }
        facts = facts.DistinctBy(f => (f.Type, f.X)).ToList();

        var perTemplate = new SortedDictionary<string, int>(StringComparer.Ordinal);
        QaPair Ask(PoetryFact f, int phrasing) => new(PoetryPhrasings.Ask(f.Type, phrasing, f.X), f.Answer, f.Type, f.Key);
        var tokensOf = new Dictionary<QaPair, int>(); // conversations count the same questions again and again
        int Tokens(IEnumerable<QaPair> turns) => turns.Sum(q => tokensOf.TryGetValue(q, out var n) ? n
            : tokensOf[q] = countTokens(ChatTemplate.Seed.PromptText(q.Question)) + countTokens(q.Answer) + 1);
        bool Fits(QaPair q)
        {
            bool fits = Tokens([q]) <= o.BlockSize;
            if (!fits) Skip($"{q.Type}: question and answer longer than block_size");
            return fits;
        }
        var train = new List<QaPair>();
        var trained = new List<AskedFact>();
        foreach (var f in Shuffle(facts.Where(f => !f.HeldOut).ToList(), rng))
        {
            var open = Enumerable.Range(0, PoetryPhrasings.Training(f.Type))
                .Where(i => perTemplate.GetValueOrDefault(PoetryPhrasings.Name(f.Type, i)) < o.MaxPerTemplate).ToList();
            if (open.Count == 0) { Skip($"{f.Type}: not sampled (max_per_template)"); continue; }
            var asked = Shuffle(open, rng).Where(i => Fits(Ask(f, i))).Take(o.PhrasingsPerFact).ToList();
            foreach (var i in asked)
            {
                var name = PoetryPhrasings.Name(f.Type, i);
                perTemplate[name] = perTemplate.GetValueOrDefault(name) + 1;
            }
            if (asked.Count == 0) continue;
            trained.Add(new AskedFact(f, asked.Select(i => Ask(f, i)).ToList()));
            train.AddRange(trained[^1].Questions);
        }
        // Unseen facts are asked the way training asks (only the fact is new); seen ones the way it never does.
        List<(PoetryFact Fact, QaPair Question)> HeldOut(IEnumerable<PoetryFact> pool, bool trainedWording) => pool.GroupBy(f => f.Type)
            .SelectMany(g => Shuffle(g.ToList(), rng)
                .Select(f => (f, Ask(f, trainedWording ? rng.Next(PoetryPhrasings.Training(f.Type)) : PoetryPhrasings.Training(f.Type) + rng.Next(PoetryPhrasings.HeldOut))))
                .Where(p => Fits(p.Item2)).Take(o.HeldOutPerType))
            .ToList();
        // What it has not read: held-out poems and poets (asked as training asks) and the rest of the package.
        // A held-out poem whose title or line a known poem has too is not asked: the refusal would deny what it read.
        var known = poems.Where(p => !heldPoems.Contains(p)).ToList();
        var knownNames = known.SelectMany(p => PoetryKnowledgeBase.Clauses(p.Lines).Append(p.Title).Append(p.Author)).ToHashSet();
        bool Unknown(PoetryFact f) => !knownNames.Contains(f.Type is "next_line" or "line_source" ? f.X : f.Poem?.Title ?? f.Author);
        var unseen = HeldOut(facts.Where(f => f.HeldOut && Unknown(f)), trainedWording: true).Select(p => PoetryRefusals.For(p.Fact, p.Question)).ToList();
        var paraphrase = HeldOut(trained.Select(a => a.Fact), trainedWording: false);
        var taken = heldPoems.SelectMany(p => PoetryKnowledgeBase.Clauses(p.Lines).Select(l => "l" + l).Append("t" + p.Title))
            .Concat(heldAuthors.Select(a => "p" + a)).ToHashSet();
        var refusals = PoetryRefusals.Unread(kb, known, (int)Math.Round(train.Count * o.RefusalShare), rng, taken, Fits);
        var unread = PoetryRefusals.Unread(kb, known, o.HeldOutPerType * PoetryRefusals.Types.Count, rng, taken, Fits);
        train = Shuffle([.. train, .. refusals], rng); // prepare-sft takes its val split from the end: a mix, not the refusals

        var talk = new PoetryConversations(trained, new PoetryFollowUps(kb, trained), famous.ToHashSet(), rng,
            turns => Tokens(turns) <= Math.Min(o.BlockSize, o.ConversationTokens));
        var conversations = talk.Training((int)Math.Round(train.Count * o.ConversationShare));
        var multiTurn = paraphrase.GroupBy(p => p.Fact.Type).SelectMany(g => g.Take(o.HeldOutMultiTurnPerType))
            .Select(p => talk.EndingWith(p.Fact, p.Question)).OfType<Conversation>().ToList();
        var followUp = talk.HeldOutFollowUps(o.HeldOutFollowUpPerReference);
        HeldOutSplit.EnsureDisjoint(train.Concat(conversations.SelectMany(c => c.Turns)),
            paraphrase.Select(p => p.Question).Concat(unseen).Concat(unread).Concat(multiTurn.Select(c => c.Turns[^1])).Concat(followUp.Select(c => c.Turns[^1])));

        var askedAs = trained.ToDictionary(a => a.Fact);
        var inSet = paraphrase.GroupBy(p => p.Fact.Type).SelectMany(g => g.Take(o.InSetPerType)).Select(p => askedAs[p.Fact].Questions[0]).ToList();

        var famousTrained = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var title in Famous)
        {
            var types = trained.Where(a => a.Fact.Poem?.Title == title && a.Fact.Poem.Anthology is not null).Select(a => a.Fact.Type).Distinct().Order().ToList();
            famousTrained[title] = types.Count > 0 ? string.Join(", ", types)
                : kb.Poems.Any(p => p.Title == title && p.Anthology is not null) ? "not trained (longer than max_lines?)" : "not in the anthologies";
        }
        return new QaBuild(train, paraphrase.Select(p => p.Question).ToList(), unseen, perTemplate, skipped,
            KnowledgeText(poems.Where(p => !heldPoems.Contains(p)), bios.Where(b => !heldAuthors.Contains(b.Key))))
        {
            Conversations = conversations, HeldOutMultiTurn = multiTurn, InSet = inSet, Famous = famousTrained,
            HeldOutFollowUp = followUp, HeldOutUnread = unread,
        };
    }

    /// The poems (title, dynasty·author, text) and poets (name, biography as author_bio answers it) behind the
    /// questions, in the layout of `data corpus`: pretraining on it first puts the facts in the model, and SFT then
    /// teaches it to answer. Held-out poems and poets are left out, so heldout_unseen stays unseen.
    private static string KnowledgeText(IEnumerable<Poem> poems, IEnumerable<KeyValuePair<string, string>> bios)
    {
        var text = new System.Text.StringBuilder();
        foreach (var p in poems) text.Append(p.Title).Append('\n').Append($"{p.Dynasty}·{p.Author}\n").Append(p.Text).Append("\n\n");
        foreach (var (a, bio) in bios) text.Append(a).Append('\n').Append(bio).Append("\n\n");
        return text.ToString();
    }

    /// The indices with the first and the last wanted in front, the rest after them in shuffled order.
    private static IEnumerable<int> FirstAndLast(List<int> indices, int first, int last, Random rng) =>
        indices.Where(i => i == first || i == last).Concat(Shuffle(indices.Where(i => i != first && i != last).ToList(), rng));

    private static HashSet<T> Sample<T>(List<T> items, double fraction, Random rng) =>
        Shuffle(items, rng).Take((int)Math.Round(items.Count * fraction)).ToHashSet();

    /// A shuffled copy, by the build's seeded generator: a seed gives the same set every time.
    private static List<T> Shuffle<T>(List<T> items, Random rng)
    {
        var copy = items.ToArray();
        rng.Shuffle(copy);
        return [.. copy];
    }

    /// The longest run of whole sentences (ending in 。) that fits, or null if not even the first does.
    private static string? FitSentences(string text, int maxTokens, Func<string, int> countTokens)
    {
        if (countTokens(text) <= maxTokens) return text;
        string? fit = null;
        for (int end = text.IndexOf('。'); end >= 0; end = text.IndexOf('。', end + 1))
        {
            var candidate = text[..(end + 1)];
            if (countTokens(candidate) > maxTokens) break;
            fit = candidate;
        }
        return fit;
    }
}
