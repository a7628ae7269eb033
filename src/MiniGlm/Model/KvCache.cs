using static TorchSharp.torch;

namespace MiniGlm.Model;

/// Keys and values of past positions for every layer, so a decode step attends to them without recomputing.
/// Buffers are preallocated to block_size; the cache owns its tensors and is disposed by its user.
public sealed class KvCache : IDisposable
{
    private readonly LayerKvCache[] layers;

    public KvCache(GptConfig config, long batch, Device device, ScalarType dtype)
    {
        layers = Enumerable.Range(0, config.NLayer)
            .Select(_ => new LayerKvCache(batch, config.NHead, config.BlockSize, config.HeadSize, device, dtype))
            .ToArray();
    }

    public LayerKvCache this[int layer] => layers[layer];

    /// Positions already cached (the position of the next token).
    public int Length => layers[0].Length;

    public void Reset() { foreach (var l in layers) l.Length = 0; }

    /// Repeats the batch <paramref name="times"/> times, e.g. to fan one prefilled prompt out to n samples.
    public void Repeat(int times) { foreach (var l in layers) l.Repeat(times); }

    public void Dispose() { foreach (var l in layers) l.Dispose(); }
}

public sealed class LayerKvCache : IDisposable
{
    private Tensor keys, values;
    public int Length { get; internal set; }
    /// (batch, heads, block_size, head_size) buffers, written in place by <see cref="Int8Decoder"/>.
    internal Tensor Keys => keys;
    internal Tensor Values => values;

    internal LayerKvCache(long batch, int heads, int capacity, int headSize, Device device, ScalarType dtype)
    {
        keys = zeros(new long[] { batch, heads, capacity, headSize }, dtype, device).DetachFromDisposeScope();
        values = zeros(new long[] { batch, heads, capacity, headSize }, dtype, device).DetachFromDisposeScope();
    }

    /// Writes the new keys/values after the cached ones and returns views over everything cached.
    public (Tensor Keys, Tensor Values) Append(Tensor k, Tensor v)
    {
        int t = (int)k.shape[2];
        if (Length + t > keys.shape[2])
            throw new InvalidOperationException($"KV cache overflow: {Length} + {t} > {keys.shape[2]} positions");
        var slot = TensorIndex.Slice(Length, Length + t);
        keys[TensorIndex.Colon, TensorIndex.Colon, slot] = k;
        values[TensorIndex.Colon, TensorIndex.Colon, slot] = v;
        Length += t;
        var upto = TensorIndex.Slice(0, Length);
        return (keys[TensorIndex.Colon, TensorIndex.Colon, upto], values[TensorIndex.Colon, TensorIndex.Colon, upto]);
    }

    /// Bool mask (True = attend) for <paramref name="t"/> new queries that follow Length - t cached positions.
    public Tensor CausalMask(long t)
    {
        var q = arange(Length - t, Length, device: keys.device).unsqueeze(1);
        var k = arange(0, Length, device: keys.device).unsqueeze(0);
        return k.le(q);
    }

    internal void Repeat(int times)
    {
        var k = keys.repeat(times, 1, 1, 1).DetachFromDisposeScope();
        var v = values.repeat(times, 1, 1, 1).DetachFromDisposeScope();
        keys.Dispose(); values.Dispose();
        keys = k; values = v;
    }

    public void Dispose() { keys.Dispose(); values.Dispose(); }
}
