using MiniGlm.Generation;

namespace MiniGlm.SftData;

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
    /// At most this many questions of each type in each held-out file.
    public int HeldOutPerType { get; init; } = 50;
}

/// What a build produced: the training questions, the two held-out sets, counts per phrasing, skips by reason, and
/// the knowledge the training questions draw on as plain text (poems and biographies, held-out ones left out).
public sealed record QaBuild(
    List<QaItem> Train, List<QaItem> HeldOutParaphrase, List<QaItem> HeldOutUnseen,
    SortedDictionary<string, int> PerTemplate, SortedDictionary<string, int> Skipped, string KnowledgeText);

/// Grounded questions about the poetry knowledge base: every answer is computed from the package, and a fact the
/// package leaves ambiguous is skipped (and counted), never guessed.
public static class PoetryQuestions
{
    private sealed record Fact(string Type, bool HeldOut, string X, string Answer, string Key);

    public static QaBuild Build(PoetryKnowledgeBase kb, PoetryQaOptions o, Func<string, int> countTokens)
    {
        var rng = new Random(o.Seed);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Skip(string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;

        var poems = kb.Poems.Where(p => (o.AllPoems || p.Anthology is not null) && p.Lines.Count <= o.MaxLines).ToList();
        var authors = poems.Select(p => p.Author).Concat(o.AllPoems && o.MaxLines == int.MaxValue ? kb.AuthorsWithBios : [])
            .Where(PoetryKnowledgeBase.IsNamed).Distinct().ToList();
        var heldPoems = Sample(poems, o.HeldOutFraction, rng);
        var heldAuthors = Sample(authors, o.HeldOutFraction, rng);

        var facts = new List<Fact>();
        var bios = new Dictionary<string, string>();
        foreach (var p in poems)
        {
            bool held = heldPoems.Contains(p);
            if (!PoetryKnowledgeBase.IsNamed(p.Author)) Skip("who_wrote: anonymous or a one-character name");
            else if (kb.AuthorOfTitle(p.Title) is null) Skip("who_wrote: title used by several poets");
            else facts.Add(new("who_wrote", held, p.Title, $"《{p.Title}》的作者是{p.Dynasty}代{(p.IsCi ? "词人" : "诗人")}{p.Author}。", p.Author));

            var label = kb.Label(p);
            if (label is null) { Skip("recite, next_line: several poems of this title by this poet"); continue; }
            if (countTokens(p.Text) > o.MaxAnswerTokens) Skip("recite: longer than max_answer_tokens");
            else facts.Add(new("recite", held, label, p.Text, p.Lines[0]));

            var lines = PoetryKnowledgeBase.Clauses(p.Lines);
            var asked = Enumerable.Range(0, Math.Max(0, lines.Count - 1)).Where(i => kb.NextLine(lines[i]) is not null).ToList();
            if (asked.Count < lines.Count - 1) Skip("next_line: lines other poems continue differently (poems)");
            foreach (var i in Shuffle(asked, rng).Take(o.NextLinesPerPoem))
                facts.Add(new("next_line", held, lines[i], $"“{lines[i]}”的下一句是“{lines[i + 1]}”。", lines[i + 1]));
        }
        foreach (var a in authors)
        {
            bool held = heldAuthors.Contains(a);
            var bio = kb.BioOf(a) is { } full ? FitSentences(full, o.MaxAnswerTokens, countTokens) : null;
            if (bio is null) Skip("author_bio: no biography, two people of this name, or first sentence too long");
            else { facts.Add(new("author_bio", held, a, bio, a)); bios[a] = bio; }

            // Listing a held-out poem would teach its author; anthology poems come first, as the best known.
            var works = kb.WorksOf(a).Where(p => !heldPoems.Contains(p)).OrderBy(p => p.Anthology is null)
                .Select(p => p.Title).Distinct().Take(o.WorksListed).ToList();
            string Works() => $"{a}的作品有{string.Join("、", works.Select(t => $"《{t}》"))}等。";
            while (works.Count > 1 && countTokens(Works()) > o.MaxAnswerTokens) works.RemoveAt(works.Count - 1);
            if (works.Count == 0 || countTokens(Works()) > o.MaxAnswerTokens) Skip("author_works: no works (or one title too long)");
            else facts.Add(new("author_works", held, a, Works(), works[0]));

            if (kb.DynastyOf(a) is { } d) facts.Add(new("author_dynasty", held, a, $"{a}是{d}代人。", d));
            else Skip("author_dynasty: name found in both dynasties");
        }
        facts = facts.DistinctBy(f => (f.Type, f.X)).ToList();

        var perTemplate = new SortedDictionary<string, int>(StringComparer.Ordinal);
        QaItem Ask(Fact f, int phrasing) =>
            new(PoetryPhrasings.ByType[f.Type][phrasing].Replace("{x}", f.X), f.Answer, f.Type, f.Key);
        bool Fits(QaItem q)
        {
            bool fits = countTokens(ChatTemplate.Seed.PromptText(q.Question)) + countTokens(q.Answer) + 1 <= o.BlockSize;
            if (!fits) Skip($"{q.Type}: question and answer longer than block_size");
            return fits;
        }
        var train = new List<QaItem>();
        var trained = new List<Fact>();
        foreach (var f in Shuffle(facts.Where(f => !f.HeldOut).ToList(), rng))
        {
            var open = Enumerable.Range(0, PoetryPhrasings.Training)
                .Where(i => perTemplate.GetValueOrDefault(PoetryPhrasings.Name(f.Type, i)) < o.MaxPerTemplate).ToList();
            if (open.Count == 0) { Skip($"{f.Type}: not sampled (max_per_template)"); continue; }
            var asked = Shuffle(open, rng).Where(i => Fits(Ask(f, i))).Take(o.PhrasingsPerFact).ToList();
            foreach (var i in asked)
            {
                train.Add(Ask(f, i));
                var name = PoetryPhrasings.Name(f.Type, i);
                perTemplate[name] = perTemplate.GetValueOrDefault(name) + 1;
            }
            if (asked.Count > 0) trained.Add(f);
        }
        // Unseen facts are asked the way training asks (only the fact is new); seen ones the way it never does.
        List<QaItem> HeldOut(IEnumerable<Fact> pool, int first, int count) => pool.GroupBy(f => f.Type)
            .SelectMany(g => Shuffle(g.ToList(), rng).Select(f => Ask(f, first + rng.Next(count))).Where(Fits).Take(o.HeldOutPerType))
            .ToList();
        var unseen = HeldOut(facts.Where(f => f.HeldOut), 0, PoetryPhrasings.Training);
        var paraphrase = HeldOut(trained, PoetryPhrasings.Training, PoetryPhrasings.ByType["who_wrote"].Length - PoetryPhrasings.Training);
        HeldOutSplit.EnsureDisjoint(train, paraphrase.Concat(unseen));
        return new QaBuild(train, paraphrase, unseen, perTemplate, skipped,
            KnowledgeText(poems.Where(p => !heldPoems.Contains(p)), bios.Where(b => !heldAuthors.Contains(b.Key))));
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
