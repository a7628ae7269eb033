using MiniGlm.Checkpoints;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// A checkpoint of a tiny random model, for tests of the commands that read checkpoints.
public static class TinyCheckpoint
{
    public static string Create(string dir, ChatTemplate? template = null, int blockSize = 32, int? maxTurns = null)
    {
        manual_seed(3);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = blockSize, VocabSize = 50304 });
        var config = new CheckpointConfig { Model = model.Config, Tokenizer = TokenizerSpec.Gpt2, Train = new TrainConfig(), ChatTemplate = template, MaxTurns = maxTurns };
        CheckpointStore.Save(dir, model, config, new TrainerState { Iter = 1 }, null);
        return dir;
    }
}
