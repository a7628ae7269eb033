using System.Text;

namespace MiniGlm.Tokenization;

/// tiktoken's byte-pair merge (repeatedly join the adjacent pair whose joined bytes have the lowest rank, the
/// leftmost on a tie) in O(n log n) with a heap, where Microsoft.ML.Tokenizers (like tiktoken) rescans the whole
/// piece after every merge: O(n²), minutes for one pre-token of 300,000 '，'. Same ids by construction (a heap entry
/// is ordered by (rank, start of its left part), exactly the pair a rescan would pick); TextTokenizer uses it
/// only for text with a long run of one character class, where the rescan would hurt.
internal sealed class RankMerger
{
    // Token bytes as Latin-1 strings (one char per byte), so a part of a piece is looked up as a span, allocation-free.
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> ranks;

    public RankMerger(byte[][] rankBytes)
    {
        var byBytes = new Dictionary<string, int>(rankBytes.Length, StringComparer.Ordinal);
        for (int rank = 0; rank < rankBytes.Length; rank++) byBytes[Encoding.Latin1.GetString(rankBytes[rank])] = rank;
        ranks = byBytes.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// Appends the ids of one pre-token.
    public void Encode(ReadOnlySpan<char> piece, List<int> ids)
    {
        var utf8 = new byte[Encoding.UTF8.GetByteCount(piece)];
        Encoding.UTF8.GetBytes(piece, utf8);
        var bytes = Encoding.Latin1.GetString(utf8);
        if (ranks.TryGetValue(bytes, out var whole)) { ids.Add(whole); return; }
        int n = bytes.Length;
        // Parts are linked by their start offsets; next[i] is where part i ends. pairRank[i] is the rank of part i
        // joined with the next part (int.MaxValue: not a token, or no next part).
        var next = new int[n];
        var prev = new int[n];
        var pairRank = new int[n];
        var heap = new PriorityQueue<int, long>(n);
        for (int i = 0; i < n; i++) { next[i] = i + 1; prev[i] = i - 1; }
        for (int i = 0; i < n; i++) Rerank(i);
        while (heap.TryDequeue(out int left, out long key))
        {
            // Entries are never removed, only outdated: skip one whose rank is no longer the part's rank.
            if (next[left] == -1 || pairRank[left] == int.MaxValue || (int)(key >> 32) != pairRank[left]) continue;
            int right = next[left];
            next[left] = next[right];
            if (next[right] < n) prev[next[right]] = left;
            next[right] = -1;
            Rerank(left);
            if (prev[left] >= 0) Rerank(prev[left]);
        }
        for (int i = 0; i < n; i = next[i])
            ids.Add(ranks.TryGetValue(bytes.AsSpan(i, next[i] - i), out var id) ? id
                : throw new MiniGlmException("tokenizer: a byte has no rank (a byte-level rank file lists all 256 bytes)"));

        void Rerank(int part)
        {
            int mid = next[part];
            pairRank[part] = mid < n && ranks.TryGetValue(bytes.AsSpan(part, next[mid] - part), out var r) ? r : int.MaxValue;
            if (pairRank[part] != int.MaxValue) heap.Enqueue(part, ((long)pairRank[part] << 32) | (uint)part);
        }
    }
}
