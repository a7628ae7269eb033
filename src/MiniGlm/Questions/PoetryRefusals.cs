namespace MiniGlm.Questions;

/// Questions about what the model has not read, answered with a short refusal naming what was asked: a title no
/// known poem has (「我没有读过《…》。」), a poet none of whose poems it read (「我没有读过…的作品。」), a line of no
/// known poem (「我没有读过“…”这句。」). They are asked with the same phrasings as the known facts, so the question's
/// wording says nothing: only what it names does. Typed refuse_title, refuse_poet, refuse_line, each keyed by
/// <see cref="Key"/> (key match is the refusal rate).
public static class PoetryRefusals
{
    public const string Key = "没有读过", TypePrefix = "refuse_";
    public static readonly IReadOnlyList<string> Types = ["refuse_title", "refuse_poet", "refuse_line"];

    private static readonly string[] AuthorTypes = ["author_bio", "author_works", "author_dynasty"];

    /// A title as people ask for one: 2–12 characters, Han and ·, no 其二 of a series.
    private static bool Asked(string title) => title.Length is >= 2 and <= 12 && !title.Contains('其')
        && title.All(c => c == '·' || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.OtherLetter);

    public static bool IsRefusal(string answer) => answer.Contains(Key, StringComparison.Ordinal);

    public static QaPair Title(string question, string title) => new(question, $"我没有读过《{title}》。", "refuse_title", Key);
    public static QaPair Poet(string question, string poet) => new(question, $"我没有读过{poet}的作品。", "refuse_poet", Key);
    public static QaPair Line(string question, string line) => new(question, $"我没有读过“{line}”这句。", "refuse_line", Key);

    /// The refusal for a question about a held-out fact (a poem or poet kept out of the knowledge), asked as asked.
    internal static QaPair For(PoetryFact fact, QaPair question) => fact.Type switch
    {
        "who_wrote" or "recite" => Title(question.Question, fact.Poem!.Title),
        "next_line" or "line_source" => Line(question.Question, fact.X),
        _ => Poet(question.Question, fact.Author),
    };

    /// Up to <paramref name="count"/> refusals (35 % titles, 25 % poets, 40 % lines: the hardest, measured 40 % refused
    /// at 30 %) about poems of the package that are
    /// not in <paramref name="known"/> and share no title, poet or line with it, asked in training phrasings.
    /// <paramref name="taken"/> (t+title, p+poet, l+line) is never asked and collects what was, so a second call
    /// (the held-out set) asks about other poems.
    internal static List<QaPair> Unread(PoetryKnowledgeBase kb, IReadOnlyCollection<Poem> known, int count, Random rng,
        HashSet<string> taken, Func<QaPair, bool> fits)
    {
        var titles = known.Select(p => p.Title).ToHashSet();
        var poets = known.Select(p => p.Author).ToHashSet();
        var lines = PoetryKnowledgeBase.Clauses(known.SelectMany(p => p.Lines)).ToHashSet();
        var knownSet = known.ToHashSet();
        // The anthologies' other poems first (将进酒, 春望: what people ask about), then the rest of the package.
        var pool = kb.Poems.Where(p => !knownSet.Contains(p) && PoetryKnowledgeBase.IsNamed(p.Author)).ToArray();
        rng.Shuffle(pool);
        pool = [.. pool.OrderBy(p => p.Anthology is null)];
        var refusals = new List<QaPair>();
        int wantTitles = (int)(count * 0.35), wantPoets = (int)(count * 0.25), wantLines = count - wantTitles - wantPoets;
        int gotTitles = 0, gotPoets = 0, gotLines = 0;
        string Ask(string type, string x) => PoetryPhrasings.Ask(type, rng.Next(PoetryPhrasings.Training(type)), x);
        foreach (var p in pool)
        {
            if (gotTitles + gotPoets + gotLines >= count) break;
            if (gotTitles < wantTitles && Asked(p.Title) && !titles.Contains(p.Title) && taken.Add("t" + p.Title))
            {
                var type = rng.Next(2) == 0 ? "who_wrote" : "recite";
                var q = Title(Ask(type, type == "recite" ? $"《{p.Title}》" : p.Title), p.Title);
                if (fits(q)) { refusals.Add(q); gotTitles++; }
            }
            else if (gotPoets < wantPoets && p.Author.Length <= 4 && !poets.Contains(p.Author) && taken.Add("p" + p.Author))
            {
                var q = Poet(Ask(AuthorTypes[rng.Next(AuthorTypes.Length)], p.Author), p.Author);
                if (fits(q)) { refusals.Add(q); gotPoets++; }
            }
            else if (gotLines < wantLines && PoetryKnowledgeBase.Clauses(p.Lines) is { Count: > 0 } clauses
                     && clauses[rng.Next(clauses.Count)] is { Length: 5 or 7 } line && !lines.Contains(line) && taken.Add("l" + line))
            {
                var q = Line(Ask(rng.Next(2) == 0 ? "next_line" : "line_source", line), line);
                if (fits(q)) { refusals.Add(q); gotLines++; }
            }
        }
        return refusals;
    }
}
