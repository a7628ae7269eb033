using MiniGlm.Checkpoints;
using MiniGlm.Model;
using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// A checkpoint ready for inference: the model in eval mode with the tokenizer and chat template it was trained with.
public sealed class LoadedModel : IDisposable
{
    public required string Path { get; init; }
    public required CheckpointConfig Config { get; init; }
    public required Generator Generator { get; init; }
    public TextTokenizer Tokenizer => Generator.Tokenizer;

    /// Loads a checkpoint directory or a run directory (its best, else latest). Call outside any dispose scope.
    /// <param name="dtype">The inference weight format: decoding reads every weight once per token, so fewer bytes
    /// per weight is faster on CPU, at slightly different numbers (see <see cref="InferenceDtype"/>).</param>
    public static LoadedModel Load(string path, InferenceDtype dtype = InferenceDtype.Float32)
    {
        TorchRuntime.PassiveThreadWait();
        var dir = CheckpointStore.Resolve(path);
        var (model, config) = CheckpointStore.LoadModel(dir, dropout: 0);
        model.eval();
        var generator = new Generator(model, TextTokenizer.Load(config.Tokenizer), dtype);
        // Two tokens compile the decode kernels now, not in the first answer.
        foreach (var _ in generator.Generate([generator.Tokenizer.EotId], new SamplingOptions { MaxNewTokens = 2, StopAtEndOfText = false })) { }
        return new LoadedModel { Path = dir, Config = config, Generator = generator };
    }

    public void Dispose()
    {
        Generator.Dispose();
        Generator.Model.Dispose();
    }
}
