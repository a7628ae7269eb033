using MiniGlm.Checkpoints;
using MiniGlm.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGlm.Generation;

/// A checkpoint ready for inference: the model in eval mode with the tokenizer and chat template it was trained with.
public sealed class LoadedModel : IDisposable
{
    public required string Path { get; init; }
    public required CheckpointConfig Config { get; init; }
    public required Generator Generator { get; init; }
    public TextTokenizer Tokenizer => Generator.Tokenizer;

    /// Loads a checkpoint directory or a run directory (its best, else latest). Call outside any dispose scope.
    /// <param name="bfloat16">Inference weights in bfloat16: decoding reads every weight once per token, so half
    /// the bytes is about twice the speed on CPU, at a slower prefill and slightly different numbers.</param>
    public static LoadedModel Load(string path, bool bfloat16 = false)
    {
        var dir = CheckpointStore.Resolve(path);
        var (model, config) = CheckpointStore.LoadModel(dir, dropout: 0);
        model.eval();
        if (bfloat16) model.to(ScalarType.BFloat16);
        return new LoadedModel { Path = dir, Config = config, Generator = new Generator(model, TextTokenizer.Load(config.Tokenizer)) };
    }

    public void Dispose() => Generator.Model.Dispose();
}
