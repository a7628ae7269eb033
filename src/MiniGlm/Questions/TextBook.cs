using System.Text.RegularExpressions;

namespace MiniGlm.Questions;

/// One chapter (回/章/篇/卷, Chapter N, a Markdown heading or a short title line): its place (from 1), heading line,
/// title (the heading without 第N回/Chapter N where it has more, else null), the author line's name if one follows
/// the heading (唐·王维, 作者：…, by …), and its paragraphs (one per non-empty line).
public sealed record TextChapter(int Number, string Heading, string? Title, string? Author, IReadOnlyList<string> Paragraphs)
{
    /// What the chapter is called in questions and answers: its title, else its heading.
    public string Name => Title ?? Heading;
}

/// A user's text read for its structure: the book's name (a `《…》` or short first line, else the file's name), its
/// author if a line states it, whether it is English, the word its chapters are counted in (篇, 回, chapter…), the
/// chapters, and lines before the first heading (Front: kept for pretraining, asked nothing).
public sealed partial record TextBook(string Name, string? Author, bool English, string Unit, IReadOnlyList<TextChapter> Chapters,
    IReadOnlyList<string> Front)
{
    private const string Stops = "。！？；：，、,.!?;:…";
    private static readonly char[] Quotes = ['“', '”', '‘', '’', '「', '」', '『', '』', '"', '\'', '《', '》', '(', ')', '（', '）', ' ', '\t', '　', '—'];

    /// Reads a text's structure. Explicit headings (第N回/章/篇/卷/节, Chapter N, # …) are used when there are any;
    /// otherwise a short line without sentence punctuation followed by a longer one is a heading (学而篇, an essay's
    /// title). A text with no heading at all is one chapter named after the book.
    public static TextBook Parse(string fileName, string text)
    {
        var lines = text.Split('\n').Select(l => l.Trim().Trim('\u3000', '\uFEFF')).Where(l => l.Length > 0).ToList();
        int latin = text.Count(char.IsAsciiLetter), cjk = text.Count(IsCjk);
        bool english = latin > cjk;
        int shortLine = english ? 60 : 20;
        bool IsShort(string l) => l.Length <= shortLine && !l.Any(c => Stops.Contains(c) && !(english && c is '.' or ':' && l.Length < 20));
        var explicitAt = lines.Select((l, i) => (l, i)).Where(p => Explicit().IsMatch(p.l)).Select(p => p.i).ToHashSet();
        bool IsHeading(int i)
        {
            if (explicitAt.Count > 0) return explicitAt.Contains(i);
            if (!IsShort(lines[i]) || AuthorOf(lines[i]) is not null) return false;
            int next = i + 1;
            while (next < lines.Count && AuthorOf(lines[next]) is not null) next++;
            return next < lines.Count && !IsShort(lines[next]) && lines[next].Length > lines[i].Length;
        }

        string name = Path.GetFileNameWithoutExtension(fileName);
        string? bookAuthor = null;
        var front = new List<string>();
        var chapters = new List<(string Heading, string? Title, string? Author, List<string> Paragraphs)>();
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (IsHeading(i))
            {
                var title = TitleOf(line);
                // `Chapter 1` then a short line without sentence punctuation: that line is the title.
                if (title is null && explicitAt.Count > 0 && i + 1 < lines.Count && !explicitAt.Contains(i + 1) && IsShort(lines[i + 1])
                    && AuthorOf(lines[i + 1]) is null)
                    title = lines[++i];
                string? author = null;
                if (i + 1 < lines.Count && AuthorOf(lines[i + 1]) is { } a) { author = a; i++; }
                chapters.Add((line, title, author, []));
            }
            else if (chapters.Count > 0) chapters[^1].Paragraphs.Add(line);
            else if (AuthorOf(line) is { } a) bookAuthor ??= a;
            else if (front.Count == 0 && (BookTitle().Match(line) is { Success: true } m) && !line.Any(c => Stops.Contains(c)))
                name = (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).Trim();
            else front.Add(line);
        }
        if (chapters.Count == 0) return new TextBook(name, bookAuthor, english, english ? "chapter" : "章", [new TextChapter(1, name, null, null, front)], []);
        var unit = english ? "chapter" : UnitOf(chapters.Select(c => c.Heading).ToList());
        return new TextBook(name, bookAuthor, english, unit,
            chapters.Where(c => c.Paragraphs.Count > 0).Select((c, k) => new TextChapter(k + 1, c.Heading, c.Title, c.Author, c.Paragraphs)).ToList(), front);
    }

    /// The clauses of a paragraph (Chinese: cut at ，。！？；：、 and quotes taken off) or its sentences (English), in order.
    public List<string> Clauses(string paragraph)
    {
        var parts = English ? EnglishSentence().Split(paragraph) : paragraph.Split(Stops.ToCharArray());
        return parts.Select(p => p.Trim().Trim(Quotes).Trim()).Where(p => p.Length > 0).ToList();
    }

    /// Sentences (ending in 。！？ or . ! ?) of a paragraph, punctuation kept, for reciting.
    public List<string> Sentences(string paragraph) =>
        (English ? EnglishSentence().Split(paragraph) : ChineseSentence().Split(paragraph)).Where(s => s.Trim().Length > 0).ToList();

    /// Who says what in a paragraph: `X曰/道/说/问：“…”`, `“…”X说/道`, English `"…," said X` / `"…," X said`. A speaker
    /// the patterns cannot pin to a short name (子告之曰, a pronoun) comes back as null, to be skipped and counted.
    /// 子 alone (子曰) is 孔子, as every reader of the classics takes it.
    public IEnumerable<(string? Speaker, string Quote)> Speech(string paragraph)
    {
        if (English)
        {
            foreach (Match m in EnglishSaid().Matches(paragraph))
                yield return (Speaker(m.Groups["a"].Success ? m.Groups["a"].Value : m.Groups["b"].Value), m.Groups["q"].Value);
            yield break;
        }
        foreach (Match m in ChineseSays().Matches(paragraph)) yield return (Speaker(m.Groups["who"].Value), m.Groups["q"].Value);
        foreach (Match m in ChineseSaidAfter().Matches(paragraph)) yield return (Speaker(m.Groups["who"].Value), m.Groups["q"].Value);
    }

    private string? Speaker(string who)
    {
        who = who.Trim();
        if (English)
            return who.Length > 1 && char.IsUpper(who[0]) && who is not ("He" or "She" or "They" or "I" or "We" or "It" or "You") ? who : null;
        // 子谓子夏曰: the one who speaks is before 谓 (子), not the one spoken to.
        int to = who.IndexOf('谓');
        if (to >= 0) who = who[..to];
        who = SpeechVerbs().Replace(who, "");
        if (who is "子" or "夫子") return "孔子";
        if (who.Length is < 1 or > 4 || !who.All(IsCjk) || who.Length == 1 || who.Any(c => "之于以而其也者我你他她它吾汝尔彼此人又乃曰在见命必使召忧".Contains(c))) return null;
        return who;
    }

    public static bool IsCjk(char c) => c is >= '\u4e00' and <= '\u9fff' or >= '\u3400' and <= '\u4dbf';

    /// A line stating who wrote the text: `唐·王维`, `先秦：左丘明`, `作者：…`, `by …`, `…著`. Null for any other line.
    public static string? AuthorOf(string line)
    {
        var m = AuthorLine().Match(line);
        if (!m.Success) return null;
        foreach (var g in new[] { "dyn", "zz", "by", "zhu" })
            if (m.Groups[g].Success) return m.Groups[g].Value.Trim();
        return null;
    }

    private static string? TitleOf(string heading)
    {
        var m = Explicit().Match(heading);
        if (!m.Success) return heading; // a title line is its own title
        var rest = heading[m.Length..].Trim().TrimStart(':', '：', '.', '、', '-', '—', ' ', '　').Trim();
        return rest.Length > 0 ? rest : heading.StartsWith('#') ? heading.TrimStart('#').Trim() : null;
    }

    /// 回, 章, 篇, 卷 or 节 when the headings say so (第一回, 学而篇), else 篇.
    private static string UnitOf(List<string> headings)
    {
        foreach (var unit in new[] { "回", "章", "篇", "卷", "节" })
            if (headings.Count(h => ExplicitUnit().Match(h) is { Success: true } m ? m.Groups[1].Value == unit : h.EndsWith(unit)) * 2 > headings.Count) return unit;
        return "篇";
    }

    [GeneratedRegex(@"^(第[0-9０-９一二三四五六七八九十百千零〇两]+[回章篇卷节部集]|(?i:chapter)\s+([0-9]+|[IVXLCivxlc]+|[A-Za-z\-]+)\b\.?|#{1,6}\s)")]
    private static partial Regex Explicit();

    [GeneratedRegex(@"^第[0-9０-９一二三四五六七八九十百千零〇两]+([回章篇卷节部集])")]
    private static partial Regex ExplicitUnit();

    [GeneratedRegex(@"^《(.+)》$|^(?!.*[·・])(.{1,20})$")]
    private static partial Regex BookTitle();

    [GeneratedRegex(@"^(?:[\u4e00-\u9fff]{1,3}\s*[·・•：:]\s*(?<dyn>[\u4e00-\u9fff]{2,5})|(?:作者|著者|撰者)\s*[：:]\s*(?<zz>.{1,20})|(?i:by)\s+(?<by>[A-Z][\w.'\- ]{1,40})|(?<zhu>[\u4e00-\u9fff·]{2,10})\s*[著撰])$")]
    private static partial Regex AuthorLine();

    [GeneratedRegex(@"(?<who>[^，。！？；：“”‘’「」\s]{1,8})(?:曰|道|说|问|云)[：:，]?\s*[“「](?<q>[^”」]+)[”」]")]
    private static partial Regex ChineseSays();

    [GeneratedRegex(@"[“「](?<q>[^”」]+)[”」]\s*(?<who>[\u4e00-\u9fff]{2,4}?)(?:笑道|说道|问道|答道|说|道|问)")]
    private static partial Regex ChineseSaidAfter();

    [GeneratedRegex(@"(问|对|答|复|又|乃|因|笑|叹|亦|请|皆|退而|进|言|[\u4e00-\u9fff]然|愠见)+$")]
    private static partial Regex SpeechVerbs();

    [GeneratedRegex(@"[""“](?<q>[^""”]+?)[,，!?]?[""”]\s*(?:said\s+(?<a>[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)|(?<b>[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)\s+said)")]
    private static partial Regex EnglishSaid();

    [GeneratedRegex(@"(?<=[.!?][""”’]?)\s+")]
    private static partial Regex EnglishSentence();

    [GeneratedRegex(@"(?<=[。！？][”」’]?)")]
    private static partial Regex ChineseSentence();
}
