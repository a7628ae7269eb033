using System.Text.RegularExpressions;

namespace MiniGlm.Questions;

/// A question made from a template: its text, which template (1-based line number), and for a two-character
/// question the two names, so the answer can be reused with the names swapped as the seed did.
public sealed record TemplateQuestion(string Question, int Template, string? Ch1 = null, string? Ch2 = null);

/// The seed's question templates: one per line with {book}, {ch1}, {ch2}, {plot} slots, expanded per book as
/// MiniGLM's generator did: a {book}-only template once per book, a {ch1} template once per character, a
/// {ch1}+{ch2} template once per unordered pair of characters of the same book, a {plot} template once per plot.
/// Questions are deduplicated (a character in two books asks its book-less questions once).
public static partial class TemplateExpander
{
    private static readonly HashSet<string> Slots = ["book", "ch1", "ch2", "plot"];

    public static List<string> LoadTemplates(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: templates file not found");
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
            foreach (Match m in Slot().Matches(lines[i]))
                if (!Slots.Contains(m.Groups[1].Value))
                    throw new MiniGlmException($"{path}:{i + 1}: unknown slot {{{m.Groups[1].Value}}} (known: {{book}}, {{ch1}}, {{ch2}}, {{plot}})");
        if (lines.Any(l => l.Contains("{ch2}") && !l.Contains("{ch1}")))
            throw new MiniGlmException($"{path}: a template with {{ch2}} needs {{ch1}} too");
        return lines.Select(l => l.Trim()).ToList();
    }

    /// Every question, in template order then book order; blank template lines are skipped but keep numbering.
    public static List<TemplateQuestion> Expand(IReadOnlyList<string> templates, IReadOnlyList<Book> books)
    {
        var questions = new List<TemplateQuestion>();
        for (int t = 0; t < templates.Count; t++)
        {
            var template = templates[t];
            if (template.Length == 0) continue;
            foreach (var book in books)
            {
                string Fill(string? ch1 = null, string? ch2 = null, string? plot = null) => template
                    .Replace("{book}", book.Name).Replace("{ch1}", ch1).Replace("{ch2}", ch2).Replace("{plot}", plot);
                if (template.Contains("{ch2}"))
                {
                    for (int i = 0; i < book.Characters.Count; i++)
                        for (int j = i + 1; j < book.Characters.Count; j++)
                            questions.Add(new(Fill(book.Characters[i], book.Characters[j]), t + 1, book.Characters[i], book.Characters[j]));
                }
                else if (template.Contains("{ch1}")) questions.AddRange(book.Characters.Select(c => new TemplateQuestion(Fill(c), t + 1)));
                else if (template.Contains("{plot}")) questions.AddRange(book.Plots.Select(p => new TemplateQuestion(Fill(plot: p), t + 1)));
                else questions.Add(new(Fill(), t + 1));
            }
        }
        return questions.DistinctBy(q => q.Question).ToList();
    }

    /// At most maxPerTemplate questions of each template, drawn at random (seeded), in their original order.
    public static List<TemplateQuestion> Sample(List<TemplateQuestion> questions, int maxPerTemplate, int seed)
    {
        var rng = new Random(seed);
        var kept = questions.GroupBy(q => q.Template).SelectMany(g =>
        {
            var all = g.ToArray();
            rng.Shuffle(all);
            return all.Take(maxPerTemplate);
        }).ToHashSet();
        return questions.Where(kept.Contains).ToList();
    }

    /// The seed's trick for relation questions: "A和B…" asked again as "B和A…" with the same answer, where
    /// only "A和B" is swapped (swapping every name would swap who did what to whom).
    public static QaPair? Swapped(TemplateQuestion q, string answer) =>
        q is { Ch1: { } a, Ch2: { } b } && q.Question.Contains($"{a}和{b}")
            ? new QaPair(q.Question.Replace($"{a}和{b}", $"{b}和{a}"), answer.Replace($"{a}和{b}", $"{b}和{a}"), $"template:{q.Template}")
            : null;

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex Slot();
}
