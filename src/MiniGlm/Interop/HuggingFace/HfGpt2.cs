using System.Text.Json;
using System.Text.Json.Nodes;
using MiniGlm.Checkpoints;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MiniGlm.Interop.HuggingFace;

/// transformers' GPT2LMHeadModel directory: config.json, model.safetensors, generation_config.json and the
/// tokenizer files (<see cref="HfTokenizer"/>). The tensor names are nanoGPT's (nanoGPT took them from GPT-2), but
/// HF keeps the four projection weights as Conv1D, [in, out]: the transpose of our Linear's [out, in] (nanoGPT's
/// from_pretrained transposes the same four). HF's GPT-2 always has biases; a bias-free model gets zeros, and an
/// import whose biases are all zero is bias-free again.
public static class HfGpt2
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors", GenerationFile = "generation_config.json";
    private static readonly string[] Conv1D = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"];
    /// The activations GPT-2 configs name: ours is the exact erf GELU ("gelu"); the tanh forms differ by ~1e-3.
    private static readonly string[] Gelus = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast"];
    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// Fills dir (an empty directory) with the model and its tokenizer.
    public static void Write(string dir, GptModel model, CheckpointConfig config)
    {
        var tokenizer = TextTokenizer.Load(config.Tokenizer);
        var c = model.Config;
        int eot = tokenizer.EotId;
        var hfConfig = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["model_type"] = "gpt2",
            ["vocab_size"] = c.VocabSize, ["n_positions"] = c.BlockSize, ["n_ctx"] = c.BlockSize, ["n_embd"] = c.NEmbd,
            ["n_layer"] = c.NLayer, ["n_head"] = c.NHead, ["n_inner"] = null, ["activation_function"] = "gelu",
            ["resid_pdrop"] = c.Dropout, ["embd_pdrop"] = c.Dropout, ["attn_pdrop"] = c.Dropout,
            ["layer_norm_epsilon"] = GptModel.LayerNormEps, ["initializer_range"] = 0.02, ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = true, ["use_cache"] = true, ["bos_token_id"] = eot, ["eos_token_id"] = eot,
            ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(dir, ConfigFile), hfConfig.ToJsonString(Indented));
        WriteGenerationConfig(dir, eot, c.BlockSize);

        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        var state = model.state_dict();
        foreach (var (name, t) in state)
        {
            tensors.Add((name, Conv1D.Any(name.EndsWith) ? t.t() : t));
            // HF's GPT-2 has a bias beside every weight but the embeddings: zeros where our model has none.
            var bias = name[..^".weight".Length] + ".bias";
            if (!c.Bias && name.EndsWith(".weight") && !name.Contains(".wte.") && !name.Contains(".wpe.") && !state.ContainsKey(bias))
                tensors.Add((bias, zeros(Conv1D.Any(name.EndsWith) ? t.shape[0] : t.shape[^1])));
        }
        SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), tensors);
        HfTokenizer.Write(dir, tokenizer, config.ChatTemplate ?? ChatTemplate.Seed, c.BlockSize);
    }

    /// generation_config.json: our sampling defaults, end of text as every special id.
    internal static void WriteGenerationConfig(string dir, int eot, int blockSize)
    {
        var sampling = new SamplingOptions();
        var generation = new JsonObject
        {
            ["bos_token_id"] = eot, ["eos_token_id"] = eot, ["pad_token_id"] = eot, ["do_sample"] = true,
            ["temperature"] = sampling.Temperature, ["top_k"] = sampling.TopK, ["max_length"] = blockSize,
        };
        File.WriteAllText(Path.Combine(dir, GenerationFile), generation.ToJsonString(Indented));
    }

    /// Reads a GPT-2 directory, or a llama/qwen2 one through <see cref="HfLlama"/> (call outside any dispose scope; the caller disposes the weights).
    public static ForeignModel Read(string dir)
    {
        var configPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(configPath)) throw new MiniGlmException($"{dir}: no {ConfigFile} (not a Hugging Face model directory)");
        JsonObject cfg;
        try { cfg = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() ?? throw new JsonException("not an object"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new MiniGlmException($"{configPath}: not a JSON object ({e.Message})"); }
        var type = cfg["model_type"]?.GetValue<string>();
        var arch = cfg["architectures"]?.AsArray().Select(a => a?.GetValue<string>()).FirstOrDefault();
        if (type is not null && HfLlama.ModelTypes.Contains(type)) return HfLlama.Read(dir, cfg, configPath);
        if (type != "gpt2")
            throw new MiniGlmException($"{configPath}: model_type '{type}' ({arch}) is not read; GPT2LMHeadModel, LlamaForCausalLM and Qwen2ForCausalLM are");
        int Int(string key, string? alt = null) =>
            (cfg[key] ?? (alt is null ? null : cfg[alt]))?.GetValue<int>() ?? throw new MiniGlmException($"{configPath}: '{key}' is missing");
        var activation = cfg["activation_function"]?.GetValue<string>() ?? "gelu_new";
        if (!Gelus.Contains(activation)) throw new MiniGlmException($"{configPath}: activation_function '{activation}' is not a GELU; this GPT uses GELU");
        double eps = cfg["layer_norm_epsilon"]?.GetValue<double>() ?? 1e-5;
        if (Math.Abs(eps - GptModel.LayerNormEps) > 1e-12)
            throw new MiniGlmException($"{configPath}: layer_norm_epsilon {eps}, but this GPT uses {GptModel.LayerNormEps}");
        int nEmbd = Int("n_embd");
        if (cfg["n_inner"] is { } inner && inner.GetValue<int>() != 4 * nEmbd)
            throw new MiniGlmException($"{configPath}: n_inner {inner} is not 4 × n_embd");

        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath))
            throw new MiniGlmException($"{dir}: no {WeightsFile} (only single-file safetensors are read; save_pretrained(..., safe_serialization=True) writes one)");
        Dictionary<string, Tensor> raw;
        try { raw = Safetensors.LoadStateDict(weightsPath); }
        catch (Exception e) when (e is not MiniGlmException) { throw new MiniGlmException($"{weightsPath}: not a readable safetensors file ({e.Message})", e); }
        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (key, t) in raw)
            {
                var name = key.StartsWith("transformer.") || key.StartsWith("lm_head.") ? key : "transformer." + key;
                if (name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias")) { t.Dispose(); continue; }
                weights[name] = Conv1D.Any(name.EndsWith) && t.dim() == 2 ? t.t().contiguous() : t;
                if (!ReferenceEquals(weights[name], t)) t.Dispose();
            }
            ForeignModel.RequireTiedHead(weights, weightsPath);
            // All-zero biases are our bias-free export (or a model that never used them): drop them.
            var biases = weights.Keys.Where(k => k.EndsWith(".bias")).ToList();
            bool bias = biases.Any(k => weights[k].count_nonzero().item<long>() > 0);
            if (!bias) foreach (var k in biases) { weights[k].Dispose(); weights.Remove(k); }
            var shape = new GptConfig
            {
                NLayer = Int("n_layer"), NHead = Int("n_head"), NEmbd = nEmbd, BlockSize = Int("n_positions", "n_ctx"),
                VocabSize = Int("vocab_size"), Bias = bias, Dropout = 0,
            };
            shape.Validate();
            var train = TrainConfig.Load(null, [new("n_layer", shape.NLayer.ToString()), new("n_head", shape.NHead.ToString()),
                new("n_embd", shape.NEmbd.ToString()), new("block_size", shape.BlockSize.ToString()), new("bias", bias ? "true" : "false")]);
            return new ForeignModel(shape, weights, train, new TrainerState());
        }
        catch
        {
            foreach (var t in weights.Values) t.Dispose();
            throw;
        }
    }
}
