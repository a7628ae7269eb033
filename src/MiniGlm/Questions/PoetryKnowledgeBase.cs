using System.Text.Json;
using System.Text.RegularExpressions;
using MiniGlm.Corpora;

namespace MiniGlm.Questions;

/// One poem or ci. A ci has no title of its own, so it is named the usual way, 词牌·first line
/// (《水调歌头·明月几时有》). Anthology is 唐诗三百首 or 宋词三百首 when the poem is in one.
public sealed record Poem(string Title, string Author, string Dynasty, bool IsCi, IReadOnlyList<string> Lines, string? Anthology)
{
    public string Text => string.Join("\n", Lines);
}

/// The facts of the chinese-poetry package (Tang and Song poems, Song ci, the two anthologies, poets'
/// biographies), in simplified Chinese, with every lookup refusing to answer where the package is ambiguous:
/// a title two poets used has no single author, a line that two poems continue differently has no single next
/// line, a name found in both dynasties has no single dynasty.
/// The anthologies are the poems people know, so they come first: a title or a line found in an anthology means
/// the anthology's poem (《登鹳雀楼》 is 王之涣's, though the full collections hold 畅当's too), and is ambiguous only
/// when two anthology poems share it (《凉州词》 of 王翰 and of 王之涣: then named 王之涣的《凉州词》). The full
/// collections' copy of an anthology poem (same title and poet) is a variant text and is dropped.
public sealed partial class PoetryKnowledgeBase
{
    private static readonly HashSet<string> Anonymous = ["无名氏", "佚名", "不详", "阙名", "无考", "西鄙人"];

    /// False for 无名氏 and the like, and for one-character names (the package has a few cut-short ones, e.g. 张).
    public static bool IsNamed(string author) => author.Length >= 2 && !Anonymous.Contains(author);

    public IReadOnlyList<Poem> Poems { get; }
    private readonly Dictionary<string, List<Poem>> byTitle = [];
    private readonly Dictionary<string, List<Poem>> byAnthologyTitle = [];
    private readonly Dictionary<string, List<Poem>> byAuthor = [];
    private readonly Dictionary<string, HashSet<string>> dynastiesOf = [];
    private readonly Dictionary<string, List<string>> biosOf = [];
    // A line → the line after it and the poem it is from, in the anthologies and in everything; null where poems
    // continue it differently or several poems have it (one entry per line, not a set: the full package has
    // millions of lines).
    private readonly LineIndex anthologyLines = new(), allLines = new();

    private sealed class LineIndex
    {
        private readonly Dictionary<string, string?> next = [];
        private readonly Dictionary<string, Poem?> source = [];

        public void Add(Poem poem, List<string> clauses)
        {
            for (int i = 0; i < clauses.Count; i++)
            {
                source[clauses[i]] = source.TryGetValue(clauses[i], out var known) && known != poem ? null : poem;
                if (i + 1 < clauses.Count)
                    next[clauses[i]] = next.TryGetValue(clauses[i], out var seen) && seen != clauses[i + 1] ? null : clauses[i + 1];
            }
        }

        public bool Has(string line) => source.ContainsKey(line);
        public string? Next(string line) => next.GetValueOrDefault(line);
        public Poem? Source(string line) => source.GetValueOrDefault(line);
    }

    internal PoetryKnowledgeBase(IEnumerable<Poem> poems, IEnumerable<(string Name, string Dynasty, string Bio)> bios)
    {
        // The anthologies repeat poems of the full collections: one copy per (title, author), the anthology's.
        var all = poems.ToList();
        var inAnthology = all.Where(p => p.Anthology is not null).Select(p => (p.Title, p.Author)).ToHashSet();
        var unique = new Dictionary<(string, string, string), Poem>();
        var clausesOf = new Dictionary<Poem, List<string>>(ReferenceEqualityComparer.Instance);
        foreach (var p in all.Where(p => p.Anthology is not null || !inAnthology.Contains((p.Title, p.Author))))
        {
            var clauses = clausesOf[p] = Clauses(p.Lines);
            unique.TryAdd((p.Title, p.Author, clauses.FirstOrDefault() ?? ""), p);
        }
        Poems = unique.Values.ToList();
        foreach (var p in Poems)
        {
            Add(byTitle, p.Title, p);
            Add(byAuthor, p.Author, p);
            Add(dynastiesOf, p.Author, p.Dynasty);
            allLines.Add(p, clausesOf[p]);
            if (p.Anthology is null) continue;
            Add(byAnthologyTitle, p.Title, p);
            anthologyLines.Add(p, clausesOf[p]);
        }
        foreach (var (name, dynasty, bio) in bios)
        {
            Add(dynastiesOf, name, dynasty);
            if (!(biosOf.TryGetValue(name, out var known) && known.Contains(bio))) Add(biosOf, name, bio);
        }
    }

    private static void Add<T, TC>(Dictionary<string, TC> index, string key, T value) where TC : ICollection<T>, new()
    {
        if (!index.TryGetValue(key, out var list)) index[key] = list = new TC();
        list.Add(value);
    }

    /// The poems a title means: the anthologies' poems of that title if there are any, else every poem of it.
    private List<Poem> Meant(string title) => byAnthologyTitle.GetValueOrDefault(title) ?? byTitle.GetValueOrDefault(title) ?? [];

    /// The author of the poems this title means, or null when they have different authors.
    public string? AuthorOfTitle(string title) =>
        Meant(title) is { Count: > 0 } ps && ps.Select(p => p.Author).Distinct().Count() == 1 ? ps[0].Author : null;

    /// How to name the poem so that exactly this poem is meant: 《title》, or author的《title》, or null.
    public string? Label(Poem poem)
    {
        var rivals = poem.Anthology is null ? byTitle[poem.Title] : byAnthologyTitle[poem.Title];
        if (rivals.Count == 1 && Meant(poem.Title)[0] == poem) return $"《{poem.Title}》";
        return rivals.Count(p => p.Author == poem.Author) == 1 ? $"{poem.Author}的《{poem.Title}》" : null;
    }

    private LineIndex LinesFor(string line) => anthologyLines.Has(line) ? anthologyLines : allLines;

    /// The line that follows this one in every poem that has it (in the anthologies if one has it), or null when
    /// poems continue it differently.
    public string? NextLine(string line) => LinesFor(line).Next(line);

    /// The one poem this line is from (an anthology poem if one has it), or null when several poems have it.
    public Poem? SourceOf(string line) => LinesFor(line).Source(line);

    /// The one dynasty a name is found in (poems and biographies), or null.
    public string? DynastyOf(string author) =>
        dynastiesOf.TryGetValue(author, out var d) && d.Count == 1 ? d.First() : null;

    /// The biography of a poet, or null when there is none or two different people share the name.
    public string? BioOf(string author) =>
        DynastyOf(author) is not null && biosOf.TryGetValue(author, out var b) && b.Count == 1 ? b[0] : null;

    public IReadOnlyList<Poem> WorksOf(string author) => byAuthor.GetValueOrDefault(author) ?? [];

    public IEnumerable<string> AuthorsWithBios => biosOf.Keys;

    /// The half-lines of a poem, split at Chinese punctuation, quotation marks removed. (A plain loop: this runs
    /// over every line of the package, and two regexes per line took most of the load time.)
    public static List<string> Clauses(IEnumerable<string> lines)
    {
        var clauses = new List<string>();
        var clause = new System.Text.StringBuilder();
        void Flush()
        {
            var c = clause.ToString().Trim();
            if (c.Length > 0) clauses.Add(c);
            clause.Clear();
        }
        foreach (var line in lines)
        {
            foreach (var ch in line)
                if (ClauseBreaks.Contains(ch)) Flush();
                else if (!QuoteMarks.Contains(ch)) clause.Append(ch);
            Flush();
        }
        return clauses;
    }

    private const string ClauseBreaks = "，。？！；：,.?!;:、";
    private const string QuoteMarks = "“”‘’「」『』\"";

    // Notes in the text such as （一作…） or (明年 一作：年年) are editors', not the poet's; some open with one kind
    // of bracket and close with the other, or run over a line break.
    [GeneratedRegex(@"[（(][^（）()]*[）)]")]
    private static partial Regex Note();

    private static string WithoutNotes(string text) => text.Contains('（') || text.Contains('(') ? Note().Replace(text, "") : text;

    /// Loads an extracted chinese-poetry package (the folder holding `dist/`, or `dist/` itself), converting
    /// traditional characters to simplified when a converter is given. 唐诗三百首 is read from
    /// mengxue/tangshisanbaishou.json, the anthology's own text and poets; quantangshi/唐诗三百首.json is not: it
    /// carries the full collection's variant texts and misattributes some poems (金昌绪's 春怨 filed as 释明辩's).
    public static PoetryKnowledgeBase Load(string packageDir, OpenCc? toSimplified)
    {
        var dist = Directory.Exists(Path.Combine(packageDir, "dist")) ? Path.Combine(packageDir, "dist") : packageDir;
        var tang = Path.Combine(dist, "quantangshi");
        var ci = Path.Combine(dist, "songci");
        if (!Directory.Exists(tang) && !Directory.Exists(ci))
            throw new MiniGlmException($"{packageDir}: no quantangshi/ or songci/ folder; run ./miniglm data fetch chinese-poetry first");
        string S(string text) => toSimplified?.Convert(text) ?? text;
        var poems = new List<Poem>();
        void Read(string file, string dynasty, bool isCi, string? anthology)
        {
            foreach (var raw in Parse<List<RawPoem>>(file) ?? [])
            {
                var lines = (raw.Paragraphs ?? []).Select(l => S(WithoutNotes(l)).Trim()).Where(l => l.Length > 0).ToList();
                var author = S(raw.Author?.Trim() ?? "");
                if (lines.Count == 0 || author.Length == 0 || lines.Any(l => l.Contains('□') || l.Contains('■'))) continue;
                var title = isCi ? $"{S(raw.Rhythmic?.Split('・')[0].Trim() ?? "")}·{Clauses(lines).FirstOrDefault()}" : S(raw.Title?.Trim() ?? "");
                if (title.Length == 0 || title.StartsWith('·') || title.EndsWith('·')) continue;
                poems.Add(new Poem(title, author, dynasty, isCi, lines, anthology));
            }
        }
        // The anthologies are the poems the questions are about: without them a question set would quietly shrink to
        // a fraction, so a package that lacks one is refused.
        var tangAnthology = Path.Combine(dist, "mengxue", "tangshisanbaishou.json");
        var songAnthology = Path.Combine(ci, "宋词三百首.json");
        foreach (var (file, name) in new[] { (tangAnthology, "唐诗三百首"), (songAnthology, "宋词三百首") })
            if (!File.Exists(file))
                throw new MiniGlmException($"{file}: missing ({name}, the poems the questions are about); fetch the package again: ./miniglm data fetch chinese-poetry");
        poems.AddRange(TangAnthology(tangAnthology, S));
        Read(songAnthology, "宋", true, "宋词三百首");
        foreach (var f in Files(tang, "poet.tang.*.json")) Read(f, "唐", false, null);
        foreach (var f in Files(tang, "poet.song.*.json")) Read(f, "宋", false, null);
        foreach (var f in Files(ci, "ci.song.*.json")) Read(f, "宋", true, null);

        var bios = new List<(string, string, string)>();
        void Bios(string file, string dynasty)
        {
            foreach (var a in Parse<List<RawAuthor>>(file) ?? [])
            {
                // songci's descriptions often append a second source's text after "--".
                var bio = S((a.Desc ?? a.Description ?? "").Split("--")[0].Trim());
                var name = S(a.Name?.Trim() ?? "");
                if (name.Length > 0 && bio.Length > 0) bios.Add((name, dynasty, bio));
            }
        }
        Files(tang, "authors.tang.json").ToList().ForEach(f => Bios(f, "唐"));
        Files(tang, "authors.song.json").ToList().ForEach(f => Bios(f, "宋"));
        Files(ci, "author.song.json").ToList().ForEach(f => Bios(f, "宋"));
        return new PoetryKnowledgeBase(poems, bios);
    }

    /// 唐诗三百首 as mengxue/tangshisanbaishou.json holds it: {"content":[{"type":"五言绝句","content":[{"chapter",
    /// "author","paragraphs"}]}]}. Its paragraphs are laid out unlike the full collections' one couplet a line (a
    /// 律诗 has two couplets a paragraph, a note may run over two paragraphs), so the text is cut into couplets again.
    /// Titles such as 出塞·秦时明月汉时关 or 回乡偶书·其一 are shortened to 出塞, 回乡偶书 where no other poem of the
    /// anthology has that name: people ask for 《出塞》.
    private static List<Poem> TangAnthology(string file, Func<string, string> s)
    {
        var book = Parse<RawAnthology>(file) ?? throw new MiniGlmException($"{file}: expected {{\"content\": [sections]}}");
        var poems = new List<Poem>();
        foreach (var raw in (book.Content ?? []).SelectMany(section => section.Content ?? []))
        {
            var author = s(raw.Author?.Trim() ?? "");
            var title = s(raw.Chapter?.Trim() ?? "");
            var text = s(WithoutNotes(string.Join("\n", raw.Paragraphs ?? [])));
            var lines = text.Split('\n').SelectMany(Couplets).ToList();
            if (lines.Count == 0 || author.Length == 0 || title.Length == 0) continue;
            poems.Add(new Poem(title, author, "唐", false, lines, "唐诗三百首"));
        }
        string Short(Poem p)
        {
            int dot = p.Title.IndexOf('·');
            if (dot <= 0) return p.Title;
            string name = p.Title[..dot], rest = p.Title[(dot + 1)..];
            bool firstLineOrNumber = rest == Clauses(p.Lines).FirstOrDefault() || (rest.StartsWith('其') && rest.Length <= 3);
            bool alone = !name.EndsWith('首') && poems.Count(q => q.Title == name || q.Title.StartsWith(name + "·")) == 1;
            return firstLineOrNumber && alone ? name : p.Title;
        }
        return poems.Select(p => p with { Title = Short(p) }).ToList();
    }

    /// A paragraph cut after each 。？！ that has more text after it; one that ends in ， (静夜思's first couplet in
    /// the anthology file) is closed with 。.
    private static IEnumerable<string> Couplets(string paragraph)
    {
        int start = 0;
        for (int i = 0; i <= paragraph.Length; i++)
        {
            if (i < paragraph.Length && !"。？！".Contains(paragraph[i])) continue;
            var couplet = paragraph[start..Math.Min(i + 1, paragraph.Length)].Trim();
            start = i + 1;
            if (couplet.Length == 0) continue;
            yield return couplet.EndsWith('，') ? couplet[..^1] + "。" : couplet;
        }
    }

    private static IEnumerable<string> Files(string dir, string pattern) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal) : [];

    private static T? Parse<T>(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return JsonSerializer.Deserialize<T>(stream, RawJson);
        }
        catch (JsonException e) { throw new MiniGlmException($"{file}: expected {(typeof(T) == typeof(RawAnthology) ? "the anthology's {\"content\": [...]}" : "a JSON array of poems or authors")} ({e.Message.Split('\n')[0]})"); }
    }

    private static readonly JsonSerializerOptions RawJson = new() { PropertyNameCaseInsensitive = true };

    private sealed record RawPoem(string? Title, string? Rhythmic, string? Author, List<string>? Paragraphs);

    private sealed record RawAnthology(List<RawSection>? Content);

    private sealed record RawSection(string? Type, List<RawAnthologyPoem>? Content);

    private sealed record RawAnthologyPoem(string? Chapter, string? Author, List<string>? Paragraphs);

    private sealed record RawAuthor(string? Name, string? Desc, string? Description);
}
