using LLama;
using LLama.Common;
using LLama.Native;

namespace MiniGlm.Cli.LlamaCpp;

/// llama.cpp itself (LLamaSharp 0.30's natives) on a GGUF file: its tokenizer, and decoding one sequence with logits.
/// Used to check our GGUF export (tests) and to time llama.cpp beside us (bench generate --compare llama.cpp).
public sealed class LlamaCppModel : IDisposable
{
    static LlamaCppModel() => NativeLibraryConfig.All.WithLogCallback((_, _) => { }); // quiet: before the first load

    private readonly LLamaWeights weights;
    private readonly LLamaContext context;
    private readonly LLamaBatch batch = new();
    private int position;

    /// <param name="contextSize">Positions the context holds; null: the model's block_size.</param>
    public LlamaCppModel(string path, int? contextSize, int threads = 2)
    {
        var p = new ModelParams(path) { GpuLayerCount = 0, Threads = threads };
        try { weights = LLamaWeights.LoadFromFile(p); }
        catch (LLama.Exceptions.LoadWeightsFailedException) { throw new MiniGlmException($"{path}: llama.cpp could not load it as a GGUF model"); }
        ContextSize = contextSize ?? weights.ContextSize;
        (p.ContextSize, p.BatchSize) = ((uint)ContextSize, (uint)ContextSize);
        context = weights.CreateContext(p);
    }

    public int VocabSize => weights.Vocab.Count;
    public int ContextSize { get; }
    /// Tokens the context holds.
    public int Position => position;
    public IReadOnlyDictionary<string, string> Metadata => weights.Metadata;

    /// llama.cpp's ids for a text: no BOS, special-token text stays text (as our encode_ordinary).
    public int[] Tokenize(string text) => context.Tokenize(text, addBos: false, special: false).Select(t => (int)t).ToArray();

    /// Feeds tokens after what the context holds and returns the logits of the last one.
    public float[] Feed(IReadOnlyList<int> ids)
    {
        batch.Clear();
        int last = 0;
        for (int i = 0; i < ids.Count; i++) last = batch.Add(ids[i], position++, LLamaSeqId.Zero, i == ids.Count - 1);
        var r = context.Decode(batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode: {r}");
        return context.NativeHandle.GetLogitsIth(last).ToArray();
    }

    public void Reset()
    {
        context.NativeHandle.MemoryClear(true);
        position = 0;
    }

    public void Dispose()
    {
        context.Dispose();
        weights.Dispose();
    }
}
