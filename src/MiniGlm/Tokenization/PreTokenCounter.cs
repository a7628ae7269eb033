using System.Runtime.InteropServices;
using MiniGlm.Data;

namespace MiniGlm.Tokenization;

/// Counts how often each pre-token occurs in a corpus: the only pass over the text that BPE training needs.
/// Files are read in blocks of whole lines, split by the pattern (<see cref="PreTokenSplitter"/>) on every core, each worker counting into its
/// own dictionary (looked up by span, so a repeated pre-token allocates nothing); the dictionaries are summed at
/// the end. Memory is bounded by the number of distinct pre-tokens, not by the corpus.
public static class PreTokenCounter
{
    public sealed record Result(Dictionary<string, long> Counts, long Chars);

    /// <param name="maxChars">stop after about this many characters (whole lines), 0 = everything.</param>
    public static Result Count(IReadOnlyList<string> files, string pattern, long maxChars = 0, int threads = 0)
    {
        var splitter = PreTokenSplitter.For(pattern);
        var partial = new List<Dictionary<string, long>>();
        long chars = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.ForEach(Blocks(files, maxChars, n => chars += n), options,
            () => new Dictionary<string, long>(),
            (block, _, counts) => { CountBlock(splitter, block, counts); return counts; },
            counts => { lock (partial) partial.Add(counts); });
        var total = partial.MaxBy(d => d.Count) ?? [];
        foreach (var counts in partial.Where(d => d != total))
            foreach (var (word, n) in counts) CollectionsMarshal.GetValueRefOrAddDefault(total, word, out _) += n;
        return new Result(total, chars);
    }

    private static void CountBlock(PreTokenSplitter splitter, string block, Dictionary<string, long> counts)
    {
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var (offset, length) in splitter.Split(block))
        {
            var piece = block.AsSpan(offset, length);
            if (lookup.TryGetValue(piece, out var n)) lookup[piece] = n + 1;
            else lookup[piece] = 1;
        }
    }

    // Blocks of about 1 MB of text that end at a line end (the last one at the end of the input); the pattern never
    // matches across a newline followed by text, so counting blocks apart loses nothing there.
    internal static IEnumerable<string> Blocks(IReadOnlyList<string> files, long maxChars, Action<long> read)
    {
        long total = 0;
        foreach (var file in files)
        {
            using var reader = new Utf8TextReader(file, replaceInvalid: true);
            var pending = new System.Text.StringBuilder();
            for (var text = reader.Read(); !text.IsEmpty; text = reader.Read())
            {
                int cut = text.LastIndexOf('\n') + 1;
                if (cut == 0) { pending.Append(text); continue; }
                pending.Append(text[..cut]);
                var block = pending.ToString();
                pending.Clear().Append(text[cut..]);
                if (maxChars > 0 && total + block.Length >= maxChars)
                {
                    block = block[..(block.LastIndexOf('\n', (int)(maxChars - total - 1)) + 1)];
                    total += block.Length; read(block.Length);
                    yield return block;
                    yield break;
                }
                total += block.Length; read(block.Length);
                yield return block;
            }
            if (pending.Length > 0)
            {
                var rest = pending.ToString();
                if (maxChars > 0 && total + rest.Length > maxChars) rest = rest[..(int)(maxChars - total)];
                total += rest.Length; read(rest.Length);
                yield return rest;
                if (maxChars > 0 && total >= maxChars) yield break;
            }
        }
    }
}
