using MiniGlm.Data;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// Batches of whole SFT rows (written by prepare-sft): x = row[0..T), y = row[1..T+1), loss mask = mask[0..T).
/// In the packed layout every token carries its document number, and attention stays inside a document, so
/// several short examples share a row without seeing each other (each is trained as if it were alone).
public sealed class SftBatcher : IBatchSource
{
    private sealed record Split(TokenFile Ids, byte[] Mask, TokenFile? Docs, long Rows);

    private readonly Split train, val;
    private readonly int batchSize, seed, rowTokens;

    public SftBatcher(string dir, DatasetMeta meta, int batchSize, int seed)
    {
        rowTokens = meta.BlockSize!.Value + 1;
        this.batchSize = batchSize; this.seed = seed;
        train = Open(dir, meta, val: false);
        val = Open(dir, meta, val: true);
        if (train.Rows == 0) throw new MiniGlmException($"{dir}: no training examples (train.bin is empty)");
        if (val.Rows == 0) throw new MiniGlmException($"{dir}: no validation examples; prepare-sft with --val_fraction > 0 or --val FILE");
    }

    public int BlockSize => rowTokens - 1;
    public long TokensPerBatch => (long)batchSize * BlockSize;

    public Batch Train(int iter, int micro) => Rows(train, new Random(Seeds.Derive(seed, Seeds.Stream.SftTrain, iter, micro)));

    public Batch Eval(string split, int index) =>
        Rows(split == "val" ? val : train, new Random(Seeds.Derive(seed, split == "val" ? Seeds.Stream.SftVal : Seeds.Stream.SftTrainEval, index)));

    private Batch Rows(Split s, Random rng)
    {
        int t = BlockSize;
        var x = new long[batchSize * t];
        var y = new long[batchSize * t];
        var mask = new float[batchSize * t];
        var docs = s.Docs is null ? null : new long[batchSize * t];
        var row = new long[rowTokens];
        for (int b = 0; b < batchSize; b++)
        {
            long start = rng.NextInt64(s.Rows) * rowTokens;
            s.Ids.Read(start, row);
            row.AsSpan(0, t).CopyTo(x.AsSpan(b * t));
            row.AsSpan(1, t).CopyTo(y.AsSpan(b * t));
            for (int i = 0; i < t; i++) mask[b * t + i] = s.Mask[start + i];
            if (docs is not null)
            {
                s.Docs!.Read(start, row);
                row.AsSpan(0, t).CopyTo(docs.AsSpan(b * t));
            }
        }
        Tensor? attention = null, positions = null;
        if (docs is not null)
        {
            var d = tensor(docs).view(batchSize, t);
            attention = d.unsqueeze(2).eq(d.unsqueeze(1)).logical_and(ones(t, t, dtype: ScalarType.Bool).tril()).unsqueeze(1);
            positions = tensor(DocumentPositions(docs, t)).view(batchSize, t);
        }
        return new Batch(tensor(x).view(batchSize, t), tensor(y).view(batchSize, t), tensor(mask).view(batchSize, t), attention, positions);
    }

    /// Position of each token within its document: 0 where a new document (or the padding) begins.
    private static long[] DocumentPositions(long[] docs, int t)
    {
        var pos = new long[docs.Length];
        for (int i = 0; i < docs.Length; i++)
            pos[i] = i % t == 0 || docs[i] != docs[i - 1] ? 0 : pos[i - 1] + 1;
        return pos;
    }

    private Split Open(string dir, DatasetMeta meta, bool val)
    {
        var ids = TokenFile.Open(val ? DatasetMeta.ValPath(dir) : DatasetMeta.TrainPath(dir));
        var docs = meta.Layout == SftLayout.Packed ? TokenFile.Open(DatasetMeta.DocPath(dir, val)) : null;
        return new Split(ids, File.ReadAllBytes(DatasetMeta.MaskPath(dir, val)), docs, ids.Length / rowTokens);
    }

    public void Dispose()
    {
        foreach (var s in new[] { train, val }) { s.Ids.Dispose(); s.Docs?.Dispose(); }
    }
}
