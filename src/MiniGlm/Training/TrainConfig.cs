using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using MiniGlm.Model;

namespace MiniGlm.Training;

/// Training settings with nanoGPT/MiniGLM key names; defaults are the MiniGLM skeleton's effective ones
/// (train.py + config/train_config.py). Built from defaults, then a JSON file, then `--key=value` overrides.
public sealed record TrainConfig
{
    // I/O
    [JsonPropertyName("dataset")] public string Dataset { get; init; } = "";
    [JsonPropertyName("out_dir")] public string OutDir { get; init; } = "out";
    [JsonPropertyName("ckpt_dir")] public string CkptDir { get; init; } = "";
    [JsonPropertyName("init_from")] public string InitFrom { get; init; } = "scratch";
    [JsonPropertyName("eval_interval")] public int EvalInterval { get; init; } = 250;
    [JsonPropertyName("eval_iters")] public int EvalIters { get; init; } = 200;
    [JsonPropertyName("log_interval")] public int LogInterval { get; init; } = 10;
    [JsonPropertyName("always_save_checkpoint")] public bool AlwaysSaveCheckpoint { get; init; }
    /// Also keep the weights of this iteration in OUT_DIR/iter_N/ (0: none), e.g. an early SFT checkpoint to compare
    /// with the final one, as the seed's report compared 1000 and 4500 SFT iterations.
    [JsonPropertyName("snapshot_iter")] public int SnapshotIter { get; init; }
    // data
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    [JsonPropertyName("block_size")] public int BlockSize { get; init; } = 256;
    [JsonPropertyName("gradient_accumulation_steps")] public int GradientAccumulationSteps { get; init; } = 1;
    /// Rows of a batch that go through forward and backward together; the gradient is the same as the whole
    /// batch's. 0 picks it (<see cref="ChunkRows"/>): the vocabulary-wide logits and their gradients dominate
    /// memory and, being memory-bound, time (whole seed batch at once: 13.5 GB and 20 % slower).
    [JsonPropertyName("micro_batch_size")] public int MicroBatchSize { get; init; }
    // model
    /// gpt2 (nanoGPT's) or llama (rotary positions, RMSNorm, SwiGLU, grouped-query attention); see <see cref="GptConfig"/>.
    [JsonPropertyName("arch")] public string Arch { get; init; } = GptConfig.Gpt2;
    [JsonPropertyName("n_layer")] public int NLayer { get; init; } = 6;
    [JsonPropertyName("n_head")] public int NHead { get; init; } = 8;
    [JsonPropertyName("n_embd")] public int NEmbd { get; init; } = 512;
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.2;
    [JsonPropertyName("bias")] public bool Bias { get; init; }
    // llama only (0 / false: the defaults GptConfig states)
    [JsonPropertyName("n_kv_head")] public int NKvHead { get; init; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; }
    [JsonPropertyName("norm_eps")] public double NormEps { get; init; }
    [JsonPropertyName("qkv_bias")] public bool QkvBias { get; init; }
    [JsonPropertyName("untied_head")] public bool UntiedHead { get; init; }
    // optimizer and schedule
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 1e-3;
    [JsonPropertyName("max_iters")] public int MaxIters { get; init; } = 5000;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.1;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.99;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("decay_lr")] public bool DecayLr { get; init; } = true;
    [JsonPropertyName("warmup_iters")] public int WarmupIters { get; init; } = 100;
    [JsonPropertyName("lr_decay_iters")] public int LrDecayIters { get; init; } = 5000;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 1e-4;
    // system
    [JsonPropertyName("seed")] public int Seed { get; init; } = 1234;
    [JsonPropertyName("threads")] public int Threads { get; init; }
    /// "cpu", or "cuda" / "cuda:N" with a TorchBackend=cuda build (untested here: no GPU; see docs/formats.md).
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    /// Arithmetic of the matrix products, as nanoGPT's `dtype`: float32, bfloat16 (fp32 master weights and
    /// optimizer state, see <see cref="Model.Autocast"/>), or auto: bfloat16 where the CPU has native bf16.
    [JsonPropertyName("dtype")] public string Dtype { get; init; } = TrainingDtype.Auto;

    public static readonly string[] InitModes = ["scratch", "resume", "finetune"];

    /// Rows per forward/backward chunk (see micro_batch_size). Automatic: as many as keep a chunk's fp32 logits
    /// within 1 GiB, in chunks of equal size. The seed config (32 rows of 256 × 50k) gets 2 × 16 rows: with 512 MiB it
    /// had 10, 10, 10 and 2, and measured 1.76× instead of 1.91× in bf16 against fp32 (fp32 itself unchanged).
    public int ChunkRows(int vocabSize)
    {
        if (MicroBatchSize > 0) return Math.Min(MicroBatchSize, BatchSize);
        int most = (int)Math.Clamp((1L << 30) / (4L * BlockSize * vocabSize), 1, BatchSize);
        int chunks = (BatchSize + most - 1) / most;
        return (BatchSize + chunks - 1) / chunks;
    }

    public GptConfig ModelConfig(int vocabSize) => new()
    {
        Arch = Arch, NLayer = NLayer, NHead = NHead, NEmbd = NEmbd, BlockSize = BlockSize,
        VocabSize = vocabSize, Bias = Bias, Dropout = Dropout, NKvHead = NKvHead, IntermediateSize = IntermediateSize,
        RopeTheta = RopeTheta, NormEps = NormEps, QkvBias = QkvBias, UntiedHead = UntiedHead,
    };

    /// This config with a model's shape keys (all but vocab_size and dropout, which are not config keys of the shape).
    public TrainConfig WithShape(GptConfig m) => this with
    {
        Arch = m.Arch, NLayer = m.NLayer, NHead = m.NHead, NEmbd = m.NEmbd, BlockSize = m.BlockSize, Bias = m.Bias,
        NKvHead = m.NKvHead, IntermediateSize = m.IntermediateSize, RopeTheta = m.RopeTheta, NormEps = m.NormEps,
        QkvBias = m.QkvBias, UntiedHead = m.UntiedHead,
    };

    /// The keys of the model's shape that a checkpoint fixes (fine-tuning keeps them).
    public static readonly string[] ShapeKeys = ["arch", "n_layer", "n_head", "n_embd", "bias", "n_kv_head", "intermediate_size",
        "rope_theta", "norm_eps", "qkv_bias", "untied_head"];

    /// Defaults, then the JSON file (if any), then overrides applied in order. Every key is checked against the
    /// known keys and their types; a mistake is a one-line MiniGlmException naming the key and the expected type.
    /// <param name="defaults">Where keys not given start from: the skeleton's defaults, or a resumed run's config.</param>
    /// <param name="overridesSource">Where the overrides come from, for error messages.</param>
    public static TrainConfig Load(string? jsonFile, IEnumerable<KeyValuePair<string, string>> overrides, TrainConfig? defaults = null,
        string overridesSource = "command line")
    {
        var node = JsonSerializer.SerializeToNode(defaults ?? new TrainConfig())!.AsObject();
        if (jsonFile is not null)
        {
            if (!File.Exists(jsonFile)) throw new MiniGlmException($"{jsonFile}: config file not found");
            JsonObject file;
            try { file = JsonNode.Parse(File.ReadAllText(jsonFile), documentOptions: new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })?.AsObject()
                         ?? throw new MiniGlmException($"{jsonFile}: expected a JSON object of config keys"); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            { throw new MiniGlmException($"{jsonFile}: not a JSON object of config keys: {e.Message}"); }
            foreach (var (key, value) in file)
                node[key] = Coerce(key, value, jsonFile);
        }
        foreach (var (key, text) in overrides)
            node[key] = Coerce(key, Parse(key, text, overridesSource), overridesSource);
        var config = node.Deserialize<TrainConfig>()!;
        config.Validate();
        return config;
    }

    private static readonly Dictionary<string, PropertyInfo> Properties = typeof(TrainConfig).GetProperties()
        .Where(p => p.GetCustomAttribute<JsonPropertyNameAttribute>() is not null)
        .ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name);

    public static IReadOnlyCollection<string> Keys => Properties.Keys;

    private static JsonNode? Parse(string key, string text, string source)
    {
        var type = TypeOf(key, source);
        if (type == typeof(string)) return JsonValue.Create(text);
        try { return JsonNode.Parse(text.ToLowerInvariant() is "true" or "false" ? text.ToLowerInvariant() : text); }
        catch (JsonException) { throw TypeError(key, type, text, source); }
    }

    private static JsonNode? Coerce(string key, JsonNode? value, string source)
    {
        var type = TypeOf(key, source);
        var kind = value?.GetValueKind();
        if (type == typeof(string) && kind == JsonValueKind.String) return value!.DeepClone();
        if (type == typeof(bool) && kind is JsonValueKind.True or JsonValueKind.False) return value!.DeepClone();
        if (type == typeof(double) && kind == JsonValueKind.Number) return JsonValue.Create(value!.GetValue<double>());
        if (type == typeof(int) && kind == JsonValueKind.Number)
        {
            double d = value!.GetValue<double>();
            if (d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return JsonValue.Create((int)d);
        }
        throw TypeError(key, type, value?.ToJsonString() ?? "null", source);
    }

    private static Type TypeOf(string key, string source) => Properties.TryGetValue(key, out var p) ? p.PropertyType
        : throw new MiniGlmException($"{source}: unknown config key '{key}' (known keys: {string.Join(", ", Properties.Keys.Order())})");

    private static MiniGlmException TypeError(string key, Type type, string got, string source)
    {
        var expected = type == typeof(int) ? "an integer" : type == typeof(double) ? "a number"
            : type == typeof(bool) ? "true or false" : "a string";
        return new MiniGlmException($"{source}: config key '{key}' expects {expected}, got {got}");
    }

    private void Validate()
    {
        void Check(bool ok, string key, string what) { if (!ok) throw new MiniGlmException($"config key '{key}' {what}"); }
        Check(InitModes.Contains(InitFrom), "init_from", $"must be one of {string.Join(", ", InitModes)}, got '{InitFrom}'");
        Check(BatchSize > 0, "batch_size", "must be positive");
        Check(BlockSize > 0, "block_size", "must be positive");
        Check(GradientAccumulationSteps > 0, "gradient_accumulation_steps", "must be positive");
        Check(MicroBatchSize >= 0, "micro_batch_size", "must be 0 (automatic) or positive");
        Check(MaxIters >= 0, "max_iters", "must not be negative");
        Check(EvalInterval > 0, "eval_interval", "must be positive");
        Check(EvalIters > 0, "eval_iters", "must be positive");
        Check(LogInterval > 0, "log_interval", "must be positive");
        Check(SnapshotIter >= 0, "snapshot_iter", "must be 0 (none) or an iteration");
        Check(LearningRate > 0, "learning_rate", "must be positive");
        Check(MinLr >= 0 && MinLr <= LearningRate, "min_lr", "must be between 0 and learning_rate");
        Check(Dropout is >= 0 and < 1, "dropout", "must be in [0, 1)");
        Check(Threads >= 0, "threads", "must be 0 (all cores) or positive");
        Check(Device == "cpu" || Regex.IsMatch(Device, @"^cuda(:\d+)?$"), "device", $"must be cpu, cuda or cuda:N, got '{Device}'");
        Check(TrainingDtype.Names.Contains(Dtype), "dtype", $"must be one of {string.Join(", ", TrainingDtype.Names)}, got '{Dtype}'");
        Check(GptConfig.Archs.Contains(Arch), "arch", $"must be one of {string.Join(", ", GptConfig.Archs)}, got '{Arch}'");
        if (InitFrom == "scratch")
            try { ModelConfig(64).Validate(); }
            catch (MiniGlmException e) { throw new MiniGlmException($"config: {e.Message}"); }
        Check(InitFrom != "finetune" || CkptDir != "", "ckpt_dir", "must name the checkpoint to fine-tune from (init_from=finetune)");
    }
}
