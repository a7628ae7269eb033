using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MiniGlm.Model;

namespace MiniGlm.Decoding;

/// Keys and values of past positions for every layer, so a decode step attends to them without recomputing.
/// The cache holds rows (sequences), each with its own length: rows are added and removed between steps, so
/// sequences of different lengths share one <see cref="Decoder.Step"/>. This class alone knows the layout: per row,
/// [layer][keys|values][head][position][head_size] in one pinned array of block_size positions.
public sealed unsafe class KvCache
{
    private readonly int layers, heads, headSize;
    private readonly List<float[]?> rows = [];
    private readonly List<int> lengths = [];

    public KvCache(GptConfig config)
    {
        (layers, heads, headSize, Capacity) = (config.NLayer, config.KvHeads, config.HeadSize, config.BlockSize);
    }

    /// Positions a row can hold: the model's block_size.
    public int Capacity { get; }

    /// A new empty row; its id stays valid until <see cref="Remove"/>.
    public int Add()
    {
        var buffer = GC.AllocateUninitializedArray<float>(layers * 2 * heads * Capacity * headSize, pinned: true);
        int free = rows.IndexOf(null);
        if (free >= 0) { rows[free] = buffer; lengths[free] = 0; return free; }
        rows.Add(buffer);
        lengths.Add(0);
        return rows.Count - 1;
    }

    public void Remove(int row)
    {
        Buffer(row);
        rows[row] = null;
    }

    /// Positions cached in a row (the position of its next token).
    public int Length(int row)
    {
        Buffer(row);
        return lengths[row];
    }

    /// Forgets a row's positions, e.g. before refilling it with a slid context window.
    public void Clear(int row)
    {
        Buffer(row);
        lengths[row] = 0;
    }

    /// Makes row <paramref name="to"/> a copy of row <paramref name="from"/>, e.g. to fan one prefilled prompt out.
    public void Copy(int from, int to)
    {
        float[] source = Buffer(from), target = Buffer(to);
        int used = lengths[from] * headSize;
        for (int block = 0; block < layers * 2 * heads; block++)
            Array.Copy(source, (long)block * Capacity * headSize, target, (long)block * Capacity * headSize, used);
        lengths[to] = lengths[from];
    }

    /// The head_size keys of one head at one position of a row.
    internal float* Key(int row, int layer, int head, int position) => At(row, (layer * 2 * heads + head) * Capacity + position);

    internal float* Value(int row, int layer, int head, int position) => At(row, ((layer * 2 + 1) * heads + head) * Capacity + position);

    /// Counts <paramref name="count"/> positions written by a step as cached.
    internal void Extend(int row, int count)
    {
        if (lengths[row] + count > Capacity)
            throw new InvalidOperationException($"KV cache overflow: {lengths[row]} + {count} > {Capacity} positions");
        lengths[row] += count;
    }

    private float* At(int row, int vector) =>
        (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(rows[row]!)) + (long)vector * headSize;

    private float[] Buffer(int row) =>
        row >= 0 && row < rows.Count && rows[row] is { } buffer ? buffer : throw new ArgumentOutOfRangeException(nameof(row), $"no KV cache row {row}");
}
