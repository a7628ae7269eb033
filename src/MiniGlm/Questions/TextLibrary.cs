using MiniGlm.Corpora;
using MiniGlm.Data;

namespace MiniGlm.Questions;

/// A person's texts as books: files, folders (every *.txt below) and globs, each file read in its detected (or the
/// given) encoding, converted to simplified Chinese if a converter is given, parsed for its structure, and cut to
/// at most maxChars characters in all (whole chapters from the start; the first files first).
public static class TextLibrary
{
    public sealed record Loaded(List<TextBook> Books, long UsedChars, long TotalChars);

    public static Loaded Read(IReadOnlyList<string> inputs, string? encoding, Func<string, string>? convert, long maxChars, Action<string> log)
    {
        if (inputs.Count == 0) throw new MiniGlmException("missing --text: the text files, folders or globs to make questions from");
        var books = new List<TextBook>();
        long used = 0, total = 0;
        foreach (var path in CorpusSources.Expand(inputs))
        {
            var file = TextFile.Read(path, encoding);
            var text = convert is null ? file.Text : convert(file.Text);
            var book = TextBook.Parse(path, text);
            int chars = book.Chapters.Sum(c => c.Paragraphs.Sum(p => p.Length));
            if (!book.Chapters.SelectMany(c => c.Paragraphs).SelectMany(book.Clauses).Any(c => c.Length >= 3))
                throw new MiniGlmException($"{path}: no sentences found in this file (read as {file.Encoding})");
            total += chars;
            var kept = Cut(book, maxChars - used);
            int keptChars = kept?.Chapters.Sum(c => c.Paragraphs.Sum(p => p.Length)) ?? 0;
            used += keptChars;
            log($"{path}: read as {file.Encoding}{(convert is null ? "" : ", converted to simplified")}; 《{book.Name}》, " +
                $"{book.Chapters.Count} {(book.English ? "chapters" : book.Unit)}, {chars:N0} characters" +
                (book.Author is null ? "" : $", author {book.Author}") + (keptChars < chars ? $"; used {keptChars:N0} of them (the budget)" : ""));
            if (kept is not null) books.Add(kept);
        }
        return new Loaded(books, used, total);
    }

    /// The book's first chapters (and of the first chapter left out, its first paragraphs) within this many characters.
    private static TextBook? Cut(TextBook book, long budget)
    {
        var chapters = new List<TextChapter>();
        foreach (var c in book.Chapters)
        {
            int size = c.Paragraphs.Sum(p => p.Length);
            if (size <= budget) { chapters.Add(c); budget -= size; continue; }
            var paragraphs = new List<string>();
            foreach (var p in c.Paragraphs)
            {
                if (p.Length > budget) break;
                paragraphs.Add(p);
                budget -= p.Length;
            }
            if (paragraphs.Count > 0) chapters.Add(c with { Paragraphs = paragraphs });
            break;
        }
        return chapters.Count == 0 ? null : book with { Chapters = chapters };
    }
}
