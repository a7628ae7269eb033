using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Generation;
using MiniGlm.IO;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using TorchSharp.Modules;

namespace MiniGlm.Checkpoints;

/// What a checkpoint says about itself (config.json): the model's shape, how it was trained, its tokenizer.
public sealed record CheckpointConfig
{
    [JsonPropertyName("model_args")] public required GptConfig Model { get; init; }
    [JsonPropertyName("tokenizer")] public required TokenizerSpec Tokenizer { get; init; }
    [JsonPropertyName("config")] public required TrainConfig Train { get; init; }
    /// Set for a model fine-tuned on question/answer pairs; null for a pretrained model, which continues text.
    [JsonPropertyName("chat_template")] public ChatTemplate? ChatTemplate { get; init; }
    /// The most question/answer turns in one SFT conversation it was trained on (prepare-sft's max_turns). Absent
    /// from pretrained checkpoints and from SFT checkpoints made before it was recorded (those saw single questions).
    [JsonPropertyName("max_turns"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? MaxTurns { get; init; }
    /// Turns a chat prompt may hold: max_turns, or 1 when it is not recorded.
    [JsonIgnore] public int ChatTurns => MaxTurns is > 1 and var n ? n : 1;
    [JsonPropertyName("format")] public string Format { get; init; } = "miniglm-checkpoint-1";
}

/// A checkpoint is a directory: model.safetensors, config.json, trainer_state.json, (for resuming)
/// optimizer.bin and, for a trained tokenizer, its rank file tokenizer.tiktoken. A run directory holds `latest/` (everything, rewritten at each eval, on Ctrl-C and at the end)
/// and `best/` (the weights with the lowest val loss: what sample, chat and finetune use).
/// Directories are written beside their destination, flushed to disk and renamed into place, so a crash (of the
/// process, the OS or the power) never leaves half a checkpoint where a good one was.
public static class CheckpointStore
{
    public const string Latest = "latest", Best = "best";
    public const string WeightsFile = "model.safetensors";
    const string ConfigFile = "config.json", StateFile = "trainer_state.json",
        OptimizerFile = "optimizer.bin";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Save(string dir, LanguageModel model, CheckpointConfig config, TrainerState state, OptimizerHelper? optimizer)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(dir))!;
        Directory.CreateDirectory(parent);
        var tmp = AtomicFile.TempPath(dir);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            Write(tmp, model, config, state, optimizer);
            foreach (var file in Directory.EnumerateFiles(tmp)) AtomicFile.Flush(file);
            AtomicFile.FlushDirectory(tmp);
            // Two renames: the old directory steps aside, the new one takes its place; each is flushed before the
            // next step, and the old copy goes only once the new one is durable. Between the renames only
            // `dir.old` exists, and Resolve() falls back to it (so when it is all there is, it is kept).
            var old = dir + ".old";
            if (Directory.Exists(dir))
            {
                if (Directory.Exists(old)) Directory.Delete(old, true);
                Directory.Move(dir, old);
                AtomicFile.FlushDirectory(parent);
            }
            Directory.Move(tmp, dir);
            AtomicFile.FlushDirectory(parent);
            if (Directory.Exists(old)) Directory.Delete(old, true);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
    }

    /// Writes the checkpoint's files into dir, an empty directory (<see cref="Save"/> makes that durable and atomic).
    public static void Write(string dir, LanguageModel model, CheckpointConfig config, TrainerState state, OptimizerHelper? optimizer)
    {
        ModelWeights.Save(model, Path.Combine(dir, WeightsFile));
        if (optimizer is not null) optimizer.save_state_dict(Path.Combine(dir, OptimizerFile));
        File.WriteAllText(Path.Combine(dir, ConfigFile), JsonSerializer.Serialize(config with { Tokenizer = config.Tokenizer.SaveTo(dir) }, Json));
        File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, Json));
    }

    /// Finds the checkpoint a user means: a checkpoint directory itself, or a run directory (its best, else latest).
    public static string Resolve(string path)
    {
        foreach (var candidate in new[] { path, Path.Combine(path, Best), Path.Combine(path, Latest) })
        {
            if (File.Exists(Path.Combine(candidate, ConfigFile))) return candidate;
            if (File.Exists(Path.Combine(candidate + ".old", ConfigFile))) return candidate + ".old";
        }
        if (!Directory.Exists(path)) throw new MiniGlmException($"{path}: no such checkpoint or run directory");
        throw new MiniGlmException($"{path}: no checkpoint here (expected {ConfigFile} in it, or in its {Best}/ or {Latest}/)");
    }

    public static CheckpointConfig ReadConfig(string dir)
    {
        var config = ReadJson<CheckpointConfig>(Path.Combine(dir, ConfigFile));
        return config with { Tokenizer = config.Tokenizer with { BaseDirectory = dir } };
    }

    public static TrainerState ReadState(string dir) => ReadJson<TrainerState>(Path.Combine(dir, StateFile));

    /// Builds the model described by the checkpoint and loads its weights (call outside any dispose scope).
    public static (LanguageModel Model, CheckpointConfig Config) LoadModel(string dir, double? dropout = null)
    {
        var config = ReadConfig(dir);
        var shape = dropout is null ? config.Model : config.Model with { Dropout = dropout.Value };
        var model = LanguageModel.Create(shape);
        try { ModelWeights.Load(model, Path.Combine(dir, WeightsFile)); }
        catch { model.Dispose(); throw; }
        return (model, config);
    }

    public static void LoadOptimizer(string dir, OptimizerHelper optimizer)
    {
        var path = Path.Combine(dir, OptimizerFile);
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: optimizer state missing; cannot resume from this checkpoint");
        try { optimizer.load_state_dict(path); }
        catch (Exception e) { throw new MiniGlmException($"{path}: unreadable optimizer state (truncated or from another model?): {e.Message}", e); }
    }

    private static T ReadJson<T>(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: missing (not a complete checkpoint)");
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new MiniGlmException($"{path}: not valid JSON for a checkpoint ({e.Message})", e); }
    }
}
