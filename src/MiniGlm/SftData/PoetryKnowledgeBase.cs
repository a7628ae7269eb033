using System.Text.Json;
using System.Text.RegularExpressions;
using MiniGlm.Corpora;

namespace MiniGlm.SftData;

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
public sealed partial class PoetryKnowledgeBase
{
    private static readonly HashSet<string> Anonymous = ["无名氏", "佚名", "不详", "阙名", "无考"];

    /// False for 无名氏 and the like, and for one-character names (the package has a few cut-short ones, e.g. 张).
    public static bool IsNamed(string author) => author.Length >= 2 && !Anonymous.Contains(author);

    public IReadOnlyList<Poem> Poems { get; }
    private readonly Dictionary<string, List<Poem>> byTitle = [];
    private readonly Dictionary<string, List<Poem>> byAuthor = [];
    private readonly Dictionary<string, HashSet<string>> dynastiesOf = [];
    private readonly Dictionary<string, List<string>> biosOf = [];
    // A line → the line after it; Ambiguous where poems continue it differently (one string per line, not a set:
    // the full package has millions of lines).
    private readonly Dictionary<string, string> nextOf = [];
    private const string Ambiguous = "\0";

    internal PoetryKnowledgeBase(IEnumerable<Poem> poems, IEnumerable<(string Name, string Dynasty, string Bio)> bios)
    {
        // The anthologies repeat poems of the full collections: one copy per (title, author, first line).
        var unique = new Dictionary<(string, string, string), Poem>();
        var clausesOf = new Dictionary<Poem, List<string>>(ReferenceEqualityComparer.Instance);
        foreach (var p in poems)
        {
            var clauses = clausesOf[p] = Clauses(p.Lines);
            var key = (p.Title, p.Author, clauses.FirstOrDefault() ?? "");
            if (!unique.TryGetValue(key, out var seen)) unique[key] = p;
            else if (seen.Anthology is null && p.Anthology is not null) unique[key] = p; // keep the anthology's text
        }
        Poems = unique.Values.ToList();
        foreach (var p in Poems)
        {
            Add(byTitle, p.Title, p);
            Add(byAuthor, p.Author, p);
            Add(dynastiesOf, p.Author, p.Dynasty);
            var clauses = clausesOf[p];
            for (int i = 0; i + 1 < clauses.Count; i++)
                nextOf[clauses[i]] = nextOf.TryGetValue(clauses[i], out var known) && known != clauses[i + 1] ? Ambiguous : clauses[i + 1];
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

    /// The author of every poem with this title, or null when poems of that title have different authors.
    public string? AuthorOfTitle(string title) =>
        byTitle.TryGetValue(title, out var ps) && ps.Select(p => p.Author).Distinct().Count() == 1 ? ps[0].Author : null;

    /// How to name the poem so that exactly this poem is meant: 《title》, or author的《title》, or null.
    public string? Label(Poem poem)
    {
        var same = byTitle[poem.Title];
        if (same.Count == 1) return $"《{poem.Title}》";
        return same.Count(p => p.Author == poem.Author) == 1 ? $"{poem.Author}的《{poem.Title}》" : null;
    }

    /// The line that follows this one in every poem that has it, or null when poems continue it differently.
    public string? NextLine(string line) => nextOf.TryGetValue(line, out var next) && next != Ambiguous ? next : null;

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

    // Notes in the text such as （一作…） are editors', not the poet's.
    [GeneratedRegex(@"（[^（）]*）|\([^()]*\)")]
    private static partial Regex Note();

    /// Loads an extracted chinese-poetry package (the folder holding `dist/`, or `dist/` itself), converting
    /// traditional characters to simplified when a converter is given.
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
            foreach (var raw in Parse<RawPoem>(file))
            {
                var lines = (raw.Paragraphs ?? []).Select(l => S(l.Contains('（') || l.Contains('(') ? Note().Replace(l, "") : l).Trim()).Where(l => l.Length > 0).ToList();
                var author = S(raw.Author?.Trim() ?? "");
                if (lines.Count == 0 || author.Length == 0 || lines.Any(l => l.Contains('□') || l.Contains('■'))) continue;
                var title = isCi ? $"{S(raw.Rhythmic?.Split('・')[0].Trim() ?? "")}·{Clauses(lines).FirstOrDefault()}" : S(raw.Title?.Trim() ?? "");
                if (title.Length == 0 || title.StartsWith('·') || title.EndsWith('·')) continue;
                poems.Add(new Poem(title, author, dynasty, isCi, lines, anthology));
            }
        }
        Files(tang, "唐诗三百首.json").ToList().ForEach(f => Read(f, "唐", false, "唐诗三百首"));
        Files(ci, "宋词三百首.json").ToList().ForEach(f => Read(f, "宋", true, "宋词三百首"));
        foreach (var f in Files(tang, "poet.tang.*.json")) Read(f, "唐", false, null);
        foreach (var f in Files(tang, "poet.song.*.json")) Read(f, "宋", false, null);
        foreach (var f in Files(ci, "ci.song.*.json")) Read(f, "宋", true, null);

        var bios = new List<(string, string, string)>();
        void Bios(string file, string dynasty)
        {
            foreach (var a in Parse<RawAuthor>(file))
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

    private static IEnumerable<string> Files(string dir, string pattern) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal) : [];

    private static List<T> Parse<T>(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return JsonSerializer.Deserialize<List<T>>(stream, RawJson) ?? [];
        }
        catch (JsonException e) { throw new MiniGlmException($"{file}: expected a JSON array of poems or authors ({e.Message.Split('\n')[0]})"); }
    }

    private static readonly JsonSerializerOptions RawJson = new() { PropertyNameCaseInsensitive = true };

    private sealed record RawPoem(string? Title, string? Rhythmic, string? Author, List<string>? Paragraphs);

    private sealed record RawAuthor(string? Name, string? Desc, string? Description);
}
