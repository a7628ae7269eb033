using MiniGlm.Checkpoints;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Interop;

/// A GPT read from another tool's files, its weights already under our (nanoGPT's) names, about to become an
/// ordinary checkpoint here.
public sealed record ForeignModel(GptConfig Shape, Dictionary<string, Tensor> Weights, TrainConfig Train, TrainerState State) : IDisposable
{
    private const string Wte = "transformer.wte.weight";

    /// Saves it as a checkpoint with the given tokenizer. The tokenizer must fit the model's vocabulary; a character
    /// vocabulary of exactly vocab_size characters has no row for the end-of-text id we add after them
    /// (<see cref="CharVocabulary"/>), so one row of zeros is appended: its logit is 0 until fine-tuning trains it,
    /// and the other logits are unchanged (the output layer has no bias).
    public GptConfig SaveCheckpoint(string outDir, TokenizerSpec tokenizer, string source, ChatTemplate? chatTemplate = null)
    {
        var tok = TextTokenizer.Load(tokenizer);
        var shape = Shape;
        var weights = new Dictionary<string, Tensor>(Weights);
        using var grown = tokenizer.Type == TokenizerSpec.CharsType && tok.VocabSize == shape.VocabSize + 1
            && weights.TryGetValue(Wte, out var wte) ? cat([wte, zeros(1, wte.shape[1], dtype: wte.dtype)]) : null;
        if (grown is not null)
        {
            weights[Wte] = grown;
            shape = shape with { VocabSize = shape.VocabSize + 1 };
        }
        else if (tok.VocabSize > shape.VocabSize)
            throw new MiniGlmException($"{source}: the model has vocab_size {shape.VocabSize}, but tokenizer {tokenizer} has {tok.VocabSize} ids; pass the tokenizer the model was trained with");
        using var model = new GptModel(shape with { Dropout = 0 });
        ModelWeights.Load(model, weights, source);
        var config = new CheckpointConfig
        {
            Model = model.Config with { Dropout = Shape.Dropout }, Tokenizer = tokenizer, Train = Train, ChatTemplate = chatTemplate,
        };
        ModelFiles.Guard(outDir, () => CheckpointStore.Save(outDir, model, config, State, null));
        return config.Model;
    }

    public void Dispose()
    {
        foreach (var t in Weights.Values) t.Dispose();
    }
}
