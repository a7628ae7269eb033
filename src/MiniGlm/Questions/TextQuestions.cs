using System.Globalization;
using MiniGlm.Generation;

namespace MiniGlm.Questions;

public sealed record TextQaOptions
{
    public int Seed { get; init; } = 1234;
    /// Each training fact is asked with this many of its type's training phrasings (different ones).
    public int PhrasingsPerFact { get; init; } = 2;
    /// Facts of each sentence type (next/previous clause, its chapter, who said it) asked per paragraph.
    public int PerParagraph { get; init; } = 2;
    /// A clause is asked about only if it has at least this many characters (Chinese) or words (English): shorter
    /// ones (子曰, "Yes") do not say where in the text they are.
    public int MinClause { get; init; } = 3;
    /// A chapter's opening is recited up to this many GPT-2 tokens (whole sentences).
    public int MaxAnswerTokens { get; init; } = 120;
    /// A question whose whole example is longer than this many GPT-2 tokens is not asked.
    public int BlockSize { get; init; } = 256;
    /// The share of paragraphs (never a chapter's first) kept out of training and pretraining: heldout_unseen.jsonl.
    public double HeldOutFraction { get; init; } = 0.05;
    public int HeldOutPerType { get; init; } = 50;
    public double ConversationShare { get; init; } = 0.2;
    public int ConversationTokens { get; init; } = 200;
    public int HeldOutMultiTurnPerType { get; init; } = 25;
    public int InSetPerType { get; init; } = 15;
}

/// One fact about a text: its type, whether it comes from a held-out paragraph, what fills the phrasing ({x}, and
/// {n} for an ordinal), the gold answer, the key a right answer contains, and the book and chapter it is about.
internal sealed record TextFact(string Type, bool HeldOut, string X, int N, string Answer, string Key, TextBook Book, int Chapter);

/// Questions computed from a user's text (TextBook): its structure (chapter titles, order, count, authors), its
/// sentences (next and previous clause, which chapter, a chapter's opening) and who said what. A clause that occurs
/// twice in the texts, or a speaker the patterns cannot pin down, is skipped and counted, never answered. Output has
/// the poetry build's shape (QaBuild), so `prepare-sft`, `eval` and the report take it unchanged.
public static class TextQuestions
{
    public static QaBuild Build(IReadOnlyList<TextBook> books, TextQaOptions o, Func<string, int> countTokens)
    {
        var rng = new Random(o.Seed);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Skip(string reason) => skipped[reason] = skipped.GetValueOrDefault(reason) + 1;

        var occurrences = books.SelectMany(b => b.Chapters.SelectMany(c => c.Paragraphs.SelectMany(b.Clauses)))
            .GroupBy(QaPair.Comparable).ToDictionary(g => g.Key, g => g.Count());
        string? whole = null;
        var heldOut = new HashSet<string>(ReferenceEqualityComparer.Instance);
        var facts = new List<TextFact>();
        foreach (var book in books)
        {
            bool Long(string clause) => (book.English ? clause.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length : clause.Count(TextBook.IsCjk)) >= o.MinClause;
            bool Unique(string clause, string type)
            {
                var key = QaPair.Comparable(clause);
                // A quotation's piece that is not a clause of its own (English: "…," said X.) is counted in the text.
                bool unique = (occurrences.TryGetValue(key, out var n) ? n : Occurrences(whole ??= QaPair.Comparable(string.Concat(
                    books.SelectMany(b => b.Chapters.SelectMany(c => c.Paragraphs)))), key)) == 1;
                if (!unique) Skip($"{type}: the clause occurs more than once");
                return unique;
            }
            var later = book.Chapters.SelectMany(c => c.Paragraphs.Skip(1)).ToList();
            foreach (var p in Shuffle(later, rng).Take((int)Math.Round(later.Count * o.HeldOutFraction))) heldOut.Add(p);

            Structure(book, facts, Skip);
            foreach (var chapter in book.Chapters)
            {
                var opening = Opening(book, chapter, o.MaxAnswerTokens, countTokens);
                if (opening is null) Skip("recite_opening: first sentence longer than max_answer_tokens or too short");
                else facts.Add(new("recite_opening", false, Shown(book, chapter), chapter.Number, opening.Value.Text, opening.Value.Key, book, chapter.Number));
                foreach (var paragraph in chapter.Paragraphs)
                {
                    bool held = heldOut.Contains(paragraph);
                    var clauses = book.Clauses(paragraph);
                    TextFact Fact(string type, string x, string answer, string key) => new(type, held, x, 0, answer, key, book, chapter.Number);
                    var asked = Enumerable.Range(0, clauses.Count).Where(i => Long(clauses[i])).ToList();
                    foreach (var i in Pick(asked.Where(i => i + 1 < clauses.Count && Long(clauses[i + 1]) && Unique(clauses[i], "next_clause")).ToList()))
                        facts.Add(Fact("next_clause", clauses[i], book.English ? $"After \"{clauses[i]}\" comes \"{clauses[i + 1]}\"" : $"“{clauses[i]}”的下一句是“{clauses[i + 1]}”。", clauses[i + 1]));
                    foreach (var i in Pick(asked.Where(i => i > 0 && Long(clauses[i - 1]) && Unique(clauses[i], "prev_clause")).ToList()))
                        facts.Add(Fact("prev_clause", clauses[i], book.English ? $"Before \"{clauses[i]}\" comes \"{clauses[i - 1]}\"" : $"“{clauses[i]}”的上一句是“{clauses[i - 1]}”。", clauses[i - 1]));
                    if (book.Chapters.Count > 1)
                        foreach (var i in Pick(asked.Where(i => Unique(clauses[i], "clause_source")).ToList()))
                            facts.Add(Fact("clause_source", clauses[i], book.English ? $"\"{clauses[i]}\" is from the chapter \"{chapter.Name}\"." : $"“{clauses[i]}”出自{Book(book)}的{Shown(book, chapter)}。", chapter.Name));
                    var said = new List<(string Speaker, string Clause)>();
                    foreach (var (speaker, quote) in book.Speech(paragraph))
                    {
                        if (speaker is null) { Skip("who_said: the speaker is not a clear name"); continue; }
                        said.AddRange(book.Clauses(quote).Where(c => Long(c) && Unique(c, "who_said")).Select(c => (speaker, c)));
                    }
                    foreach (var (speaker, clause) in Pick(said))
                        facts.Add(Fact("who_said", clause, book.English ? $"\"{clause}\" was said by {speaker}." : $"“{clause}”是{speaker}说的。", speaker));
                }
            }
        }
        facts = facts.DistinctBy(f => (f.Type, QaPair.Comparable(f.X), f.Book)).ToList();

        List<T> Pick<T>(List<T> items) => Shuffle(items, rng).Take(o.PerParagraph).ToList();
        var perTemplate = new SortedDictionary<string, int>(StringComparer.Ordinal);
        QaPair Ask(TextFact f, int phrasing) => new(TextPhrasings.Ask(f.Book, f.Type, phrasing, f.X, f.N), f.Answer, f.Type, f.Key);
        var tokensOf = new Dictionary<QaPair, int>();
        int Tokens(IEnumerable<QaPair> turns) => turns.Sum(q => tokensOf.TryGetValue(q, out var n) ? n
            : tokensOf[q] = countTokens(ChatTemplate.Seed.PromptText(q.Question)) + countTokens(q.Answer) + 1);
        bool Fits(QaPair q)
        {
            bool fits = Tokens([q]) <= o.BlockSize;
            if (!fits) Skip($"{q.Type}: question and answer longer than block_size");
            return fits;
        }
        var train = new List<QaPair>();
        var trained = new List<(TextFact Fact, List<QaPair> Questions)>();
        foreach (var f in Shuffle(facts.Where(f => !f.HeldOut).ToList(), rng))
        {
            int phrasings = TextPhrasings.Training(f.Book.English, f.Type);
            var asked = Shuffle(Enumerable.Range(0, phrasings).ToList(), rng).Select(i => (i, q: Ask(f, i))).Where(p => Fits(p.q)).Take(o.PhrasingsPerFact).ToList();
            foreach (var (i, _) in asked) perTemplate[TextPhrasings.Name(f.Type, i)] = perTemplate.GetValueOrDefault(TextPhrasings.Name(f.Type, i)) + 1;
            if (asked.Count == 0) continue;
            trained.Add((f, asked.Select(p => p.q).ToList()));
            train.AddRange(trained[^1].Questions);
        }
        List<(TextFact Fact, QaPair Question)> HeldOut(IEnumerable<TextFact> pool, bool trainedWording) => pool.GroupBy(f => f.Type)
            .SelectMany(g => Shuffle(g.ToList(), rng)
                .Select(f =>
                {
                    int training = TextPhrasings.Training(f.Book.English, f.Type);
                    return (f, Ask(f, trainedWording ? rng.Next(training) : training + rng.Next(TextPhrasings.HeldOut)));
                })
                .Where(p => Fits(p.Item2)).Take(o.HeldOutPerType))
            .ToList();
        var unseen = HeldOut(facts.Where(f => f.HeldOut), trainedWording: true).Select(p => p.Question).ToList();
        var paraphrase = HeldOut(trained.Select(a => a.Fact), trainedWording: false);

        var talk = new TextConversations(trained, rng, turns => Tokens(turns) <= Math.Min(o.BlockSize, o.ConversationTokens));
        var conversations = talk.Training((int)Math.Round(train.Count * o.ConversationShare));
        var multiTurn = paraphrase.GroupBy(p => p.Fact.Type).SelectMany(g => g.Take(o.HeldOutMultiTurnPerType))
            .Select(p => talk.EndingWith(p.Fact, p.Question)).OfType<Conversation>().ToList();
        HeldOutSplit.EnsureDisjoint(train.Concat(conversations.SelectMany(c => c.Turns)),
            paraphrase.Select(p => p.Question).Concat(unseen).Concat(multiTurn.Select(c => c.Turns[^1])));
        var askedAs = trained.ToDictionary(a => a.Fact, a => a.Questions);
        var inSet = paraphrase.GroupBy(p => p.Fact.Type).SelectMany(g => g.Take(o.InSetPerType)).Select(p => askedAs[p.Fact][0]).ToList();
        return new QaBuild(train, paraphrase.Select(p => p.Question).ToList(), unseen, perTemplate, skipped, KnowledgeText(books, heldOut))
        {
            Conversations = conversations, HeldOutMultiTurn = multiTurn, InSet = inSet,
        };
    }

    /// Chapter titles by number, numbers by title, next and previous chapter, the last chapter, how many, authors.
    private static void Structure(TextBook book, List<TextFact> facts, Action<string> skip)
    {
        var chapters = book.Chapters;
        bool en = book.English;
        TextFact Fact(string type, string x, int n, string answer, string key, int chapter = 0) => new(type, false, x, n, answer, key, book, chapter);
        if (chapters.Count < 2) { skip("structure: fewer than two chapters found"); }
        else
        {
            var names = chapters.GroupBy(c => QaPair.Comparable(c.Name)).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
            bool Clear(TextChapter c) => !names.Contains(QaPair.Comparable(c.Name));
            foreach (var c in chapters)
            {
                var cn = Chinese(c.Number);
                if (!Clear(c)) { skip("chapter_*: two chapters of the same name"); continue; }
                if (c.Title is not null)
                    facts.Add(Fact("chapter_title", en ? Ordinal(c.Number) : cn, c.Number,
                        en ? $"Chapter {c.Number} of {book.Name} is \"{c.Name}\"." : $"{Book(book)}的第{cn}{book.Unit}是{Shown(book, c)}。", c.Name, c.Number));
                facts.Add(Fact("chapter_number", en ? c.Name : Shown(book, c), c.Number,
                    en ? $"\"{c.Name}\" is chapter {c.Number} of {book.Name}." : $"{Shown(book, c)}是{Book(book)}的第{cn}{book.Unit}。",
                    en ? $"chapter {c.Number}" : $"第{cn}{book.Unit}", c.Number));
                if (c.Number < chapters.Count && Clear(chapters[c.Number]))
                    facts.Add(Fact("chapter_next", en ? c.Name : Shown(book, c), 0, en ? $"After \"{c.Name}\" comes \"{chapters[c.Number].Name}\"."
                        : $"{Shown(book, c)}的下一{book.Unit}是{Shown(book, chapters[c.Number])}。", chapters[c.Number].Name, c.Number));
                if (c.Number > 1 && Clear(chapters[c.Number - 2]))
                    facts.Add(Fact("chapter_prev", en ? c.Name : Shown(book, c), 0, en ? $"Before \"{c.Name}\" comes \"{chapters[c.Number - 2].Name}\"."
                        : $"{Shown(book, c)}的上一{book.Unit}是{Shown(book, chapters[c.Number - 2])}。", chapters[c.Number - 2].Name, c.Number));
                if (c.Author is { } a)
                    facts.Add(Fact("chapter_author", en ? c.Name : Shown(book, c), 0, en ? $"\"{c.Name}\" was written by {a}." : $"{Shown(book, c)}的作者是{a}。", a, c.Number));
            }
            var last = chapters[^1];
            facts.Add(Fact("chapter_last", book.Name, 0, en ? $"The last chapter of {book.Name} is \"{last.Name}\"." : $"{Book(book)}的最后一{book.Unit}是{Shown(book, last)}。", last.Name, last.Number));
            facts.Add(Fact("chapter_count", book.Name, 0, en ? $"{book.Name} has {chapters.Count} chapters." : $"{Book(book)}共有{Chinese(chapters.Count)}{book.Unit}。",
                en ? $"{chapters.Count}" : Chinese(chapters.Count)));
        }
        if (book.Author is { } author)
            facts.Add(Fact("book_author", book.Name, 0, en ? $"{book.Name} was written by {author}." : $"{Book(book)}的作者是{author}。", author));
    }

    /// A chapter's first sentences within the token budget, and the key: its first clause long enough to say which.
    private static (string Text, string Key)? Opening(TextBook book, TextChapter chapter, int maxTokens, Func<string, int> countTokens)
    {
        var sentences = chapter.Paragraphs.Take(2).SelectMany(book.Sentences).ToList();
        var text = "";
        foreach (var s in sentences)
        {
            var next = text + (book.English && text.Length > 0 ? " " : "") + s.Trim();
            if (countTokens(next) > maxTokens) break;
            text = next;
        }
        var key = book.Clauses(text).FirstOrDefault(c => c.Length >= 3);
        return text.Length == 0 || key is null ? null : (text, key);
    }

    private static string Book(TextBook book) => book.English ? book.Name : $"《{book.Name}》";

    /// A chapter as answers show it: 学而篇 (a title that names its unit), 第一回 … (its heading), else 《title》.
    internal static string Shown(TextBook book, TextChapter c) =>
        book.English ? c.Name : c.Title is null || c.Heading.StartsWith('第') ? c.Heading : c.Name.EndsWith(book.Unit, StringComparison.Ordinal) ? c.Name : $"《{c.Name}》";

    /// The book as pretraining text: its name, author, chapters with their headings, held-out paragraphs left out.
    private static string KnowledgeText(IReadOnlyList<TextBook> books, HashSet<string> heldOut)
    {
        var text = new System.Text.StringBuilder();
        foreach (var b in books)
        {
            text.Append(b.English ? b.Name : $"《{b.Name}》").Append('\n');
            if (b.Author is { } a) text.Append(b.English ? $"by {a}\n" : $"作者：{a}\n");
            foreach (var line in b.Front) text.Append(line).Append('\n');
            text.Append('\n');
            foreach (var c in b.Chapters)
            {
                text.Append(c.Heading).Append('\n');
                if (c.Title is not null && !c.Heading.Contains(c.Title, StringComparison.Ordinal)) text.Append(c.Title).Append('\n');
                if (c.Author is { } ca) text.Append(b.English ? $"by {ca}\n" : $"作者：{ca}\n");
                foreach (var p in c.Paragraphs.Where(p => !heldOut.Contains(p))) text.Append(p).Append('\n');
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// 1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五 (to 9999).
    public static string Chinese(int n)
    {
        const string digits = "零一二三四五六七八九";
        if (n < 10) return digits[n].ToString();
        if (n < 20) return "十" + (n % 10 == 0 ? "" : digits[n % 10].ToString());
        var s = new System.Text.StringBuilder();
        var units = new[] { (1000, "千"), (100, "百"), (10, "十"), (1, "") };
        bool zero = false, started = false;
        foreach (var (u, name) in units)
        {
            int d = n / u % 10;
            if (d == 0) { zero = started; continue; }
            if (zero) { s.Append('零'); zero = false; }
            s.Append(digits[d]).Append(name);
            started = true;
        }
        return s.ToString();
    }

    private static string Ordinal(int n) => n.ToString(CultureInfo.InvariantCulture) + ((n % 100) is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" });

    private static int Occurrences(string text, string part)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private static List<T> Shuffle<T>(List<T> items, Random rng)
    {
        var copy = items.ToArray();
        rng.Shuffle(copy);
        return [.. copy];
    }
}
