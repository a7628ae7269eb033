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
        var dir = CheckpointStore.Resolve(path);
        var (model, config) = CheckpointStore.LoadModel(dir, dropout: 0);
        model.eval();
        model.SetInferenceDtype(dtype);
        return new LoadedModel { Path = dir, Config = config, Generator = new Generator(model, TextTokenizer.Load(config.Tokenizer)) };
    }

    public void Dispose() => Generator.Model.Dispose();
}
