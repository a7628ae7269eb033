using MiniGlm.Data;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// The seed's get_batch: random windows x = data[i:i+T], y = data[i+1:i+1+T] from the memory-mapped token files.
public sealed class PretrainBatcher : IBatchSource
{
    private readonly TokenFile train, val;
    private readonly int batchSize, blockSize, seed;

    public PretrainBatcher(string datasetDir, int batchSize, int blockSize, int seed)
    {
        train = TokenFile.Open(Path.Combine(datasetDir, "train.bin"));
        val = TokenFile.Open(Path.Combine(datasetDir, "val.bin"));
        this.batchSize = batchSize; this.blockSize = blockSize; this.seed = seed;
        foreach (var (name, file) in new[] { ("train.bin", train), ("val.bin", val) })
            if (file.Length <= blockSize)
                throw new MiniGlmException($"{Path.Combine(datasetDir, name)}: {file.Length} tokens, but block_size {blockSize} needs at least {blockSize + 1}; use a smaller block_size or more text");
    }

    public long TokensPerBatch => (long)batchSize * blockSize;

    public Batch Train(int iter, int micro) => Windows(train, new Random(Seeds.Derive(seed, Seeds.Stream.PretrainTrain, iter, micro)));

    public Batch Eval(string split, int index) =>
        Windows(split == "val" ? val : train, new Random(Seeds.Derive(seed, split == "val" ? Seeds.Stream.PretrainVal : Seeds.Stream.PretrainTrainEval, index)));

    private Batch Windows(TokenFile data, Random rng)
    {
        var x = new long[batchSize * blockSize];
        var y = new long[batchSize * blockSize];
        var window = new long[blockSize + 1];
        for (int b = 0; b < batchSize; b++)
        {
            long start = rng.NextInt64(data.Length - blockSize);
            data.Read(start, window);
            window.AsSpan(0, blockSize).CopyTo(x.AsSpan(b * blockSize));
            window.AsSpan(1, blockSize).CopyTo(y.AsSpan(b * blockSize));
        }
        return new Batch(tensor(x).view(batchSize, blockSize), tensor(y).view(batchSize, blockSize));
    }

    public void Dispose() { train.Dispose(); val.Dispose(); }
}
