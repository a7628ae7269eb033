using MiniGlm.Checkpoints;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Interop;

/// A model read from another tool's files, its weights already under our names (nanoGPT's, or transformers' for llama), about to become an
/// ordinary checkpoint here.
public sealed record ForeignModel(GptConfig Shape, Dictionary<string, Tensor> Weights, TrainConfig Train, TrainerState State) : IDisposable
{
    private const string Wte = "transformer.wte.weight";

    /// What the reader could not carry over (a setting with no counterpart here), one line each, for the user.
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// Saves it as a checkpoint with the given tokenizer. The tokenizer must fit the model's vocabulary; a character
    /// vocabulary of exactly vocab_size characters has no row for the end-of-text id we add after them
    /// (<see cref="CharVocabulary"/>), so one row of zeros is appended: its logit is 0 until fine-tuning trains it,
    /// and the other logits are unchanged (the output layer has no bias).
    public GptConfig SaveCheckpoint(string outDir, TokenizerSpec tokenizer, string source)
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
        RequireShapeOfWeights(shape, weights, source);
        using var model = LanguageModel.Create(shape with { Dropout = 0 });
        ModelWeights.Load(model, weights, source);
        var config = new CheckpointConfig
        {
            Model = model.Config with { Dropout = Shape.Dropout }, Tokenizer = tokenizer, Train = Train,
        };
        ModelFiles.WriteDirectory(outDir, tmp => CheckpointStore.Write(tmp, model, config, State, null));
        return config.Model;
    }

    /// The model is built from its shape before the weights are copied in, so the shape must first be the weights'
    /// own: a header that declares a larger model than its file holds would otherwise get that memory.
    private static void RequireShapeOfWeights(GptConfig shape, Dictionary<string, Tensor> weights, string source)
    {
        var tables = shape.IsLlama ? new[] { ("model.embed_tokens.weight", (long)shape.VocabSize) }
            : new[] { (Wte, (long)shape.VocabSize), ("transformer.wpe.weight", shape.BlockSize) };
        foreach (var (name, rows) in tables)
        {
            if (!weights.TryGetValue(name, out var t)) throw new MiniGlmException($"{source}: tensor '{name}' is missing");
            if (!t.shape.SequenceEqual([rows, shape.NEmbd]))
                throw new MiniGlmException($"{source}: tensor '{name}' has shape [{string.Join(",", t.shape)}], the model expects [{rows},{shape.NEmbd}]");
        }
        var lastLayer = shape.IsLlama ? $"model.layers.{shape.NLayer - 1}." : $"transformer.h.{shape.NLayer - 1}.";
        if (!weights.Keys.Any(k => k.StartsWith(lastLayer)))
            throw new MiniGlmException($"{source}: the model has n_layer {shape.NLayer}, but there are no '{lastLayer}*' weights");
    }

    /// The output layer must be the token embedding (one matrix, as nanoGPT and GPT-2 tie them); a separate
    /// `lm_head.weight` that differs is refused. It is removed from weights either way.
    public static void RequireTiedHead(Dictionary<string, Tensor> weights, string source)
    {
        if (!weights.Remove("lm_head.weight", out var head)) return;
        using (head)
            if (!weights.TryGetValue(Wte, out var wte) || !head.shape.SequenceEqual(wte.shape) || !head.allclose(wte, rtol: 0, atol: 0))
                throw new MiniGlmException($"{source}: 'lm_head.weight' differs from '{Wte}': an untied output layer, which this GPT does not have");
    }

    public void Dispose()
    {
        foreach (var t in Weights.Values) t.Dispose();
    }
}
