using System.Runtime.InteropServices;
using System.Text;

namespace MiniGlm.Tokenization;

/// Byte-level BPE training, as minbpe / rustbpe do it: start from the 256 bytes and repeatedly merge the most
/// frequent adjacent pair into a new token. Works on distinct pre-tokens ("words") weighted by their count, never
/// on the text itself; pair counts are kept up to date incrementally (only the words holding the merged pair are
/// rewritten, and only the pairs beside each replacement change) and the most frequent pair comes from a heap
/// whose stale entries are re-queued when they surface.
/// Ties go to the pair with the smaller ids, so the same counts always give the same vocabulary.
public static class BpeTrainer
{
    /// Returns the bytes of every token, index = rank: 0–255 the single bytes, then one token per merge.
    /// A merge whose bytes already exist as a token (ab+c after a+bc) reuses that token instead of adding a twin.
    public static List<byte[]> Train(IReadOnlyDictionary<string, long> wordCounts, int ranks, Action<int>? progress = null)
    {
        if (ranks is < 256 or > 65536) throw new MiniGlmException($"a byte-level vocabulary has 256…65536 tokens, got {ranks}");
        var tokens = Enumerable.Range(0, 256).Select(b => new byte[] { (byte)b }).ToList();
        var ids = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) ids[Key(tokens[b])] = b;

        // The order of words does not matter: counts are sums, and the heap orders pairs totally.
        var words = wordCounts.ToArray();
        var symbols = new int[words.Length][];
        var lengths = new int[words.Length];   // a word shrinks in place as its pairs merge
        var counts = new long[words.Length];
        var pairCounts = new Dictionary<int, long>();
        var pairWords = new Dictionary<int, List<int>>();
        for (int w = 0; w < words.Length; w++)
        {
            symbols[w] = Encoding.UTF8.GetBytes(words[w].Key).Select(b => (int)b).ToArray();
            lengths[w] = symbols[w].Length;
            counts[w] = words[w].Value;
            for (int i = 0; i + 1 < lengths[w]; i++) Add(PairKey(symbols[w][i], symbols[w][i + 1]), counts[w], w, pairCounts, pairWords, null);
        }
        // Min-heap on (-count, pair): the most frequent pair first, then the smaller ids.
        var heap = new PriorityQueue<int, (long, int)>(pairCounts.Select(p => (p.Key, (-p.Value, p.Key))));
        var visited = new int[words.Length];
        Array.Fill(visited, -1);
        var changed = new HashSet<int>();

        for (int merge = 0; tokens.Count < ranks && heap.TryDequeue(out var pair, out var priority); )
        {
            long count = pairCounts.GetValueOrDefault(pair);
            if (count != -priority.Item1)
            {
                if (count > 0) heap.Enqueue(pair, (-count, pair));
                continue;
            }
            int a = (int)((uint)pair >> 16), b = pair & 0xFFFF;
            var bytes = tokens[a].Concat(tokens[b]).ToArray();
            if (!ids.TryGetValue(Key(bytes), out int id))
            {
                id = tokens.Count;
                tokens.Add(bytes);
                ids[Key(bytes)] = id;
                progress?.Invoke(tokens.Count);
            }
            changed.Clear();
            foreach (int w in pairWords[pair])
            {
                if (visited[w] == merge) continue;
                visited[w] = merge;
                MergeWord(w, symbols[w], ref lengths[w], a, b, id, counts[w], pairCounts, pairWords, changed);
            }
            pairWords.Remove(pair);
            pairCounts.Remove(pair);
            foreach (var p in changed) heap.Enqueue(p, (-pairCounts[p], p));
            merge++;
        }
        return tokens;
    }

    private static string Key(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    // ids are below 65536 (uint16 data files), so a pair packs into one int: distinct keys, distinct hash codes.
    private static int PairKey(int a, int b) => a << 16 | b;

    // Replaces each (a, b) in the word by id, left to right, and updates the counts of the pairs around each
    // replacement (as HF tokenizers' Word::merge): the left neighbour is read after its own rewrite, so adjacent
    // and overlapping occurrences (a b a b, a a a) come out right. (a, b) itself is dropped by the caller.
    private static void MergeWord(int w, int[] word, ref int length, int a, int b, int id, long count,
        Dictionary<int, long> pairCounts, Dictionary<int, List<int>> pairWords, HashSet<int> changed)
    {
        int merged = PairKey(a, b), j = 0;
        for (int i = 0; i < length; i++)
        {
            if (i + 1 < length && word[i] == a && word[i + 1] == b)
            {
                if (j > 0)
                {
                    if (PairKey(word[j - 1], a) != merged) Add(PairKey(word[j - 1], a), -count, -1, pairCounts, pairWords, null);
                    Add(PairKey(word[j - 1], id), count, w, pairCounts, pairWords, changed);
                }
                if (i + 2 < length)
                {
                    if (PairKey(b, word[i + 2]) != merged) Add(PairKey(b, word[i + 2]), -count, -1, pairCounts, pairWords, null);
                    Add(PairKey(id, word[i + 2]), count, w, pairCounts, pairWords, changed);
                }
                word[j++] = id;
                i++;
            }
            else word[j++] = word[i];
        }
        length = j;
    }

    // Adds to a pair's count; a word (w >= 0) that now holds the pair is listed under it, once in a row.
    private static void Add(int key, long delta, int w, Dictionary<int, long> pairCounts, Dictionary<int, List<int>> pairWords, HashSet<int>? changed)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, key, out _) += delta;
        if (w < 0) return;
        if (!pairWords.TryGetValue(key, out var list)) pairWords[key] = list = [];
        if (list.Count == 0 || list[^1] != w) list.Add(w);
        changed?.Add(key);
    }
}
