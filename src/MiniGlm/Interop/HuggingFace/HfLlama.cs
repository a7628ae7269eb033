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

/// transformers' LlamaForCausalLM and Qwen2ForCausalLM directories: config.json, model.safetensors (or shards named
/// by model.safetensors.index.json) and the tokenizer files (<see cref="HfTokenizer"/>). Our llama's tensor names are
/// transformers' own (<see cref="LlamaModel"/>), so weights travel unchanged; a llama with q/k/v biases is a Qwen2.
public static class HfLlama
{
    public const string IndexFile = "model.safetensors.index.json";
    public static readonly string[] ModelTypes = ["llama", "qwen2"];

    /// Fills dir (an empty directory) with the model and its tokenizer.
    public static void Write(string dir, LanguageModel model, CheckpointConfig config)
    {
        var tokenizer = TextTokenizer.Load(config.Tokenizer);
        var c = model.Config;
        bool qwen = c.QkvBias;
        int eot = tokenizer.EotId;
        var hfConfig = new JsonObject
        {
            ["architectures"] = new JsonArray(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"), ["model_type"] = qwen ? "qwen2" : "llama",
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.NEmbd, ["intermediate_size"] = c.MlpWidth,
            ["num_hidden_layers"] = c.NLayer, ["num_attention_heads"] = c.NHead, ["num_key_value_heads"] = c.KvHeads,
            ["head_dim"] = c.HeadSize, ["max_position_embeddings"] = c.BlockSize, ["rms_norm_eps"] = c.Eps, ["rope_theta"] = c.RopeBase,
            ["rope_scaling"] = null, ["hidden_act"] = "silu", ["tie_word_embeddings"] = !c.UntiedHead, ["attention_dropout"] = 0.0,
            ["initializer_range"] = 0.02, ["use_cache"] = true, ["bos_token_id"] = eot, ["eos_token_id"] = eot, ["torch_dtype"] = "float32",
        };
        if (!qwen) { hfConfig["attention_bias"] = false; hfConfig["mlp_bias"] = false; }
        else { hfConfig["use_sliding_window"] = false; hfConfig["max_window_layers"] = c.NLayer; }
        File.WriteAllText(Path.Combine(dir, HfGpt2.ConfigFile), hfConfig.ToJsonString(HfGpt2.Indented));
        HfGpt2.WriteGenerationConfig(dir, eot, c.BlockSize);
        SafetensorsWriter.Write(Path.Combine(dir, HfGpt2.WeightsFile), model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList());
        HfTokenizer.Write(dir, tokenizer, config.ChatTemplate ?? ChatTemplate.Seed, c.BlockSize);
    }

    /// The model's shape from a llama or qwen2 config.json.
    public static GptConfig Shape(JsonObject cfg, string configPath)
    {
        T Get<T>(string key, T? fallback = default) where T : struct =>
            cfg[key] is { } v && v.GetValueKind() != JsonValueKind.Null ? v.GetValue<T>() : fallback ?? throw new MiniGlmException($"{configPath}: '{key}' is missing");
        var type = cfg["model_type"]!.GetValue<string>();
        var act = cfg["hidden_act"]?.GetValue<string>() ?? "silu";
        if (act != "silu") throw new MiniGlmException($"{configPath}: hidden_act '{act}' is not silu; this llama's MLP is SwiGLU");
        if (cfg["rope_scaling"] is JsonObject scaling)
            throw new MiniGlmException($"{configPath}: rope_scaling {scaling.ToJsonString()} is not supported (plain rotary positions only)");
        if (cfg["mlp_bias"]?.GetValue<bool>() == true) throw new MiniGlmException($"{configPath}: mlp_bias is not supported");
        int hidden = Get<int>("hidden_size"), heads = Get<int>("num_attention_heads");
        if (cfg["head_dim"] is { } hd && hd.GetValueKind() == JsonValueKind.Number && hd.GetValue<int>() != hidden / heads)
            throw new MiniGlmException($"{configPath}: head_dim {hd} is not hidden_size / num_attention_heads ({hidden / heads})");
        var shape = new GptConfig
        {
            Arch = GptConfig.Llama, NLayer = Get<int>("num_hidden_layers"), NHead = heads, NEmbd = hidden,
            NKvHead = Get<int>("num_key_value_heads", heads), IntermediateSize = Get<int>("intermediate_size"),
            BlockSize = Get<int>("max_position_embeddings"), VocabSize = Get<int>("vocab_size"),
            RopeTheta = Get<double>("rope_theta", 10000.0), NormEps = Get<double>("rms_norm_eps", 1e-6),
            QkvBias = type == "qwen2" || cfg["attention_bias"]?.GetValue<bool>() == true,
            UntiedHead = !(cfg["tie_word_embeddings"]?.GetValue<bool>() ?? type == "qwen2"),
        };
        shape.Validate();
        return shape;
    }

    /// Reads a llama/qwen2 directory (call outside any dispose scope; the caller disposes the weights).
    public static ForeignModel Read(string dir, JsonObject cfg, string configPath)
    {
        var shape = Shape(cfg, configPath);
        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in WeightFiles(dir))
            {
                Dictionary<string, Tensor> part;
                try { part = Safetensors.LoadStateDict(file); }
                catch (Exception e) when (e is not MiniGlmException) { throw new MiniGlmException($"{file}: not a readable safetensors file ({e.Message})", e); }
                foreach (var (name, t) in part)
                {
                    // Weights come as the file has them (often bf16): our model is fp32, and the copy into it converts.
                    if (name.EndsWith(".rotary_emb.inv_freq")) { t.Dispose(); continue; }
                    if (!weights.TryAdd(name, t)) { t.Dispose(); throw new MiniGlmException($"{file}: tensor '{name}' is in two files"); }
                }
            }
            if (!shape.UntiedHead && weights.Remove("lm_head.weight", out var head))
                using (head)
                    if (!head.allclose(weights["model.embed_tokens.weight"].to(head.dtype), rtol: 0, atol: 0))
                        throw new MiniGlmException($"{dir}: tie_word_embeddings is true, but lm_head.weight differs from model.embed_tokens.weight");
            var train = TrainConfig.Load(null, [], new TrainConfig().WithShape(shape));
            return new ForeignModel(shape, weights, train, new TrainerState());
        }
        catch
        {
            foreach (var t in weights.Values) t.Dispose();
            throw;
        }
    }

    /// model.safetensors, or the shards model.safetensors.index.json names.
    private static IEnumerable<string> WeightFiles(string dir)
    {
        var single = Path.Combine(dir, HfGpt2.WeightsFile);
        var index = Path.Combine(dir, IndexFile);
        if (File.Exists(single)) return [single];
        if (!File.Exists(index)) throw new MiniGlmException($"{dir}: no {HfGpt2.WeightsFile} or {IndexFile} (only safetensors weights are read)");
        try
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject() ?? throw new JsonException("no weight_map");
            var files = map.Select(kv => kv.Value!.GetValue<string>()).Distinct().ToList();
            foreach (var f in files)
                if (Path.GetFileName(f) != f || !File.Exists(Path.Combine(dir, f)))
                    throw new MiniGlmException($"{index}: shard '{f}' is not a file in {dir}");
            return files.Select(f => Path.Combine(dir, f));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new MiniGlmException($"{index}: not a safetensors index ({e.Message})"); }
    }
}
