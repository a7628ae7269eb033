using MiniGlm.Model;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MiniGlm.Checkpoints;

/// Reads and writes a model's weights as safetensors with nanoGPT's tensor names (HuggingFace style: the tied
/// `lm_head.weight` is not stored, and is ignored when a PyTorch export carries it).
public static class ModelWeights
{
    public static void Save(GptModel model, string path)
    {
        var state = model.state_dict();
        AtomicFile.Write(path, tmp => Safetensors.SaveStateDict(tmp, state));
    }

    public static void Load(GptModel model, string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: weights file not found");
        Dictionary<string, Tensor> loaded;
        try { loaded = Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not MiniGlmException)
        {
            throw new MiniGlmException($"{path}: not a readable safetensors file (truncated or corrupt?): {e.Message}", e);
        }
        try { Load(model, loaded, path); }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    /// Copies named tensors into the model, after checking that every tensor the model has is there with its shape
    /// and nothing else is (the tied `lm_head.weight` and the causal-mask buffers `*.attn.bias` are ignored).
    public static void Load(GptModel model, IReadOnlyDictionary<string, Tensor> loaded, string source)
    {
        var expected = model.state_dict();
        foreach (var (name, t) in expected)
        {
            if (!loaded.TryGetValue(name, out var src))
                throw new MiniGlmException($"{source}: tensor '{name}' is missing");
            if (!src.shape.SequenceEqual(t.shape))
                throw new MiniGlmException($"{source}: tensor '{name}' has shape [{string.Join(",", src.shape)}], the model expects [{string.Join(",", t.shape)}]");
        }
        var extra = loaded.Keys.Where(k => !expected.ContainsKey(k) && k != "lm_head.weight" && !k.EndsWith(".attn.bias")).ToList();
        if (extra.Count > 0) throw new MiniGlmException($"{source}: unexpected tensor '{extra[0]}' (model config does not match the weights)");
        using var _ = no_grad();
        foreach (var (name, t) in expected) t.copy_(loaded[name].to(t.dtype));
    }
}
