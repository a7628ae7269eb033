using System.Text;

namespace MiniGlm.Tokenization;

/// Byte-level BPE training, as minbpe / rustbpe do it: start from the 256 bytes and repeatedly merge the most
/// frequent adjacent pair into a new token. Works on distinct pre-tokens ("words") weighted by their count, never
/// on the text itself; pair counts are kept up to date incrementally (only the words holding the merged pair are
/// rewritten) and the most frequent pair comes from a heap whose stale entries are re-queued when they surface.
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
        var counts = new long[words.Length];
        var pairCounts = new Dictionary<int, long>();
        var pairWords = new Dictionary<int, List<int>>();
        for (int w = 0; w < words.Length; w++)
        {
            symbols[w] = Encoding.UTF8.GetBytes(words[w].Key).Select(b => (int)b).ToArray();
            counts[w] = words[w].Value;
            AddPairs(w, symbols[w], counts[w], pairCounts, pairWords, onlyWith: -1);
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
                var merged = Merge(symbols[w], a, b, id);
                if (merged is null) continue;
                RemovePairs(symbols[w], counts[w], pairCounts);
                symbols[w] = merged;
                AddPairs(w, merged, counts[w], pairCounts, pairWords, onlyWith: id, changed);
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

    // The word with every (a, b) replaced by id, left to right; null if the pair does not occur.
    private static int[]? Merge(int[] word, int a, int b, int id)
    {
        int[]? result = null;
        int n = 0;
        for (int i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == a && word[i + 1] == b)
            {
                result ??= word[..i];
                if (result.Length < word.Length) Array.Resize(ref result, word.Length);
                result[n++] = id;
                i++;
            }
            else if (result is not null) result[n++] = word[i];
            else n++;
        }
        return result?[..n];
    }

    private static void RemovePairs(int[] word, long count, Dictionary<int, long> pairCounts)
    {
        for (int i = 0; i + 1 < word.Length; i++) pairCounts[PairKey(word[i], word[i + 1])] -= count;
    }

    // Adds the word's pairs to the counts; registers the word under (and reports) only pairs holding `onlyWith`
    // (every pair when -1): the other pairs were in the word before and it is already listed under them.
    private static void AddPairs(int w, int[] word, long count, Dictionary<int, long> pairCounts,
        Dictionary<int, List<int>> pairWords, int onlyWith, HashSet<int>? changed = null)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            int key = PairKey(word[i], word[i + 1]);
            pairCounts[key] = pairCounts.GetValueOrDefault(key) + count;
            if (onlyWith >= 0 && word[i] != onlyWith && word[i + 1] != onlyWith) continue;
            if (!pairWords.TryGetValue(key, out var list)) pairWords[key] = list = [];
            if (list.Count == 0 || list[^1] != w) list.Add(w);
            changed?.Add(key);
        }
    }
}
