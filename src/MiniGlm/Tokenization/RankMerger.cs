using System.Runtime.CompilerServices;
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Encode(ReadOnlySpan<char> piece, List<int> ids)
    {
        var utf8 = new byte[Encoding.UTF8.GetByteCount(piece)];
        Encoding.UTF8.GetBytes(piece, utf8);
        var bytes = Encoding.Latin1.GetString(utf8);
        if (ranks.TryGetValue(bytes, out var whole)) { ids.Add(whole); return; }
        // Parts are linked by their start offsets: next[i] is where the part starting at i ends. The heap holds each
        // part that can join the next one, keyed by the rank of the joined bytes.
        int n = bytes.Length;
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1; prev[i] = i - 1; }
        var heap = new PartHeap(n);
        for (int i = 0; i + 1 < n; i++)
            if (ranks.TryGetValue(bytes.AsSpan(i, 2), out var r)) heap.Add(i, r);
        heap.Build();
        while (heap.Count > 0)
        {
            int left = heap.PopMin(), right = next[left];
            heap.Remove(right);
            next[left] = next[right];
            if (next[left] < n) prev[next[left]] = left;
            Rerank(left);
            if (prev[left] >= 0) Rerank(prev[left]);
        }
        for (int i = 0; i < n; i = next[i])
            ids.Add(ranks.TryGetValue(bytes.AsSpan(i, next[i] - i), out var id) ? id
                : throw new MiniGlmException("tokenizer: a byte has no rank (a byte-level rank file lists all 256 bytes)"));

        void Rerank(int part)
        {
            int mid = next[part];
            if (mid < n && ranks.TryGetValue(bytes.AsSpan(part, next[mid] - part), out var r)) heap.Set(part, r);
            else heap.Remove(part);
        }
    }

    /// A binary min-heap of parts keyed by (rank, start): the lowest rank first, the leftmost on a tie. Each part is
    /// in it at most once and its key can change, so no outdated entries pile up.
    private sealed class PartHeap(int n)
    {
        private readonly long[] keys = new long[n];
        private readonly int[] index = Enumerable.Repeat(-1, n).ToArray(); // part → slot, -1 if absent

        public int Count { get; private set; }

        private static long Key(int part, int rank) => ((long)rank << 32) | (uint)part;

        /// Adds without ordering; call Build before anything else.
        public void Add(int part, int rank) { keys[Count] = Key(part, rank); index[part] = Count++; }

        public void Build() { for (int i = Count / 2 - 1; i >= 0; i--) Down(i); }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int PopMin()
        {
            int part = (int)(uint)keys[0];
            Remove(part);
            return part;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Set(int part, int rank)
        {
            long key = Key(part, rank);
            int i = index[part];
            if (i < 0) { i = Count++; index[part] = i; keys[i] = key; Up(i); return; }
            long old = keys[i];
            keys[i] = key;
            if (key < old) Up(i); else Down(i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Remove(int part)
        {
            int i = index[part];
            if (i < 0) return;
            index[part] = -1;
            if (--Count == i) return;
            long old = keys[i], last = keys[Count];
            keys[i] = last;
            index[(int)(uint)last] = i;
            if (last < old) Up(i); else Down(i);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Up(int i)
        {
            long key = keys[i];
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (keys[parent] <= key) break;
                Place(i, keys[parent]);
                i = parent;
            }
            Place(i, key);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Down(int i)
        {
            long key = keys[i];
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= Count) break;
                if (child + 1 < Count && keys[child + 1] < keys[child]) child++;
                if (key <= keys[child]) break;
                Place(i, keys[child]);
                i = child;
            }
            Place(i, key);
        }

        private void Place(int i, long key) { keys[i] = key; index[(int)(uint)key] = i; }
    }
}
