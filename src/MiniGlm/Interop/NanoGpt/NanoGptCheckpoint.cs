using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;
using MiniGlm.Checkpoints;
using MiniGlm.Interop.Torch;
using MiniGlm.Model;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Interop.NanoGpt;

/// nanoGPT's `ckpt.pt` (train.py): `{model: state_dict, optimizer, model_args, iter_num, best_val_loss, config}`.
/// Our tensor names are nanoGPT's, so the weights map one to one; nanoGPT's state dict also holds the tied
/// `lm_head.weight` (the same storage as `transformer.wte.weight`) and, on PyTorch without flash attention, the
/// causal-mask buffers `*.attn.bias`; torch.compile prefixes every name with `_orig_mod.`.
public static class NanoGptCheckpoint
{
    public const string FileName = "ckpt.pt";
    private const string CompilePrefix = "_orig_mod.", Wte = "transformer.wte.weight", LmHead = "lm_head.weight";

    /// Reads a ckpt.pt into a foreign model (call outside any dispose scope; the caller disposes the weights).
    public static ForeignModel Read(string path)
    {
        using var archive = TorchArchive.Open(path);
        if (archive.Root is not Dictionary<object, object?> root || !root.TryGetValue("model", out var modelValue)
            || modelValue is not Dictionary<object, object?> stateDict)
            throw new MiniGlmException($"{path}: not a nanoGPT checkpoint (expected a dict with 'model': a state dict, and 'model_args')");
        var args = root.GetValueOrDefault("model_args") as Dictionary<object, object?>
            ?? throw new MiniGlmException($"{path}: no 'model_args' (n_layer, n_head, n_embd, block_size, vocab_size, bias): not a nanoGPT train.py checkpoint");
        var shape = new GptConfig
        {
            NLayer = Int(args, "n_layer", path), NHead = Int(args, "n_head", path), NEmbd = Int(args, "n_embd", path),
            BlockSize = Int(args, "block_size", path), VocabSize = Int(args, "vocab_size", path),
            Bias = args.GetValueOrDefault("bias") as bool? ?? throw new MiniGlmException($"{path}: model_args 'bias' must be True or False"),
            Dropout = args.ContainsKey("dropout") ? Number(args, "dropout", path) : 0,
        };
        Validate(shape, path);

        var refs = new Dictionary<string, TorchArchive.TensorRef>();
        foreach (var (key, value) in stateDict)
        {
            var name = key as string ?? throw new MiniGlmException($"{path}: a state dict key that is not a string");
            if (name.StartsWith(CompilePrefix)) name = name[CompilePrefix.Length..];
            if (IsMaskBuffer(name)) continue;
            refs[name] = value as TorchArchive.TensorRef ?? throw new MiniGlmException($"{path}: state dict entry '{name}' is not a tensor");
        }
        if (!refs.ContainsKey(Wte))
            throw new MiniGlmException($"{path}: no '{Wte}' in the state dict (found '{refs.Keys.FirstOrDefault()}'): not nanoGPT's GPT architecture");

        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, r) in refs) weights[name] = archive.Load(r);
            ForeignModel.RequireTiedHead(weights, path);
            var state = new TrainerState
            {
                Iter = root.GetValueOrDefault("iter_num") is long iter and >= 0 and <= int.MaxValue ? (int)iter : 0,
                BestValLoss = Scalar(archive, root.GetValueOrDefault("best_val_loss")) ?? double.PositiveInfinity,
            };
            var notes = new List<string>();
            var train = Train(root.GetValueOrDefault("config") as Dictionary<object, object?>, shape, notes);
            return new ForeignModel(shape, weights, train, state) { Notes = notes };
        }
        catch
        {
            foreach (var t in weights.Values) t.Dispose();
            throw;
        }
    }

    /// Writes the model as nanoGPT's train.py would (PyTorch ≥ 2 names: no mask buffers), with an empty AdamW state
    /// in nanoGPT's two parameter groups, so `train.py --init_from=resume` starts its moments afresh and continues.
    public static void Write(string path, GptModel model, CheckpointConfig config, TrainerState state)
    {
        var stateDict = new Dictionary<object, object?>();
        foreach (var (name, t) in model.state_dict())
        {
            stateDict[name] = t;
            if (name == Wte) stateDict[LmHead] = t; // tied: one storage under both names, as nanoGPT saves it
        }
        var c = config.Model;
        var modelArgs = new Dictionary<object, object?>
        {
            ["n_layer"] = (long)c.NLayer, ["n_head"] = (long)c.NHead, ["n_embd"] = (long)c.NEmbd, ["block_size"] = (long)c.BlockSize,
            ["bias"] = c.Bias, ["vocab_size"] = (long)c.VocabSize, ["dropout"] = c.Dropout,
        };
        var checkpoint = new Dictionary<object, object?>
        {
            ["model"] = stateDict,
            ["optimizer"] = FreshAdamW(model, config.Train),
            ["model_args"] = modelArgs,
            ["iter_num"] = (long)state.Iter,
            ["best_val_loss"] = state.BestValLoss,
            ["config"] = TrainConfigDict(config.Train, c),
        };
        TorchArchiveWriter.Write(path, checkpoint);
    }

    /// nanoGPT's configure_optimizers: weights of two or more dimensions decay, the rest (norms, biases) do not.
    private static Dictionary<object, object?> FreshAdamW(GptModel model, TrainConfig train)
    {
        // nanoGPT numbers the parameters group by group: the decayed ones first.
        var dims = model.parameters().Select(p => p.dim()).ToList();
        int decayed = dims.Count(d => d >= 2);
        var decay = Enumerable.Range(0, decayed).Select(i => (object?)(long)i).ToList();
        var noDecay = Enumerable.Range(decayed, dims.Count - decayed).Select(i => (object?)(long)i).ToList();
        Dictionary<object, object?> Group(List<object?> ids, double wd) => new()
        {
            ["lr"] = train.LearningRate, ["betas"] = new object?[] { train.Beta1, train.Beta2 }, ["eps"] = 1e-8,
            ["weight_decay"] = wd, ["amsgrad"] = false, ["maximize"] = false, ["params"] = ids,
        };
        return new Dictionary<object, object?>
        {
            ["state"] = new Dictionary<object, object?>(),
            ["param_groups"] = new List<object?> { Group(decay, train.WeightDecay), Group(noDecay, 0.0) },
        };
    }

    /// Our training keys, which are nanoGPT's names where nanoGPT has the setting (see docs/formats.md).
    private static Dictionary<object, object?> TrainConfigDict(TrainConfig train, GptConfig shape)
    {
        var dict = new Dictionary<object, object?>();
        foreach (var p in typeof(TrainConfig).GetProperties())
            if (p.GetCustomAttribute<JsonPropertyNameAttribute>() is { } json)
                dict[json.Name] = p.GetValue(train) is int i ? (long)i : p.GetValue(train);
        dict["vocab_size"] = (long)shape.VocabSize;
        return dict;
    }

    /// nanoGPT's training config as ours. Keys we have too (same names) are carried one by one, each checked as our
    /// trainer would; the model's shape (vocab_size too) comes from model_args. init_from, ckpt_dir and device were
    /// about nanoGPT's run and machine and are not carried. nanoGPT's dtype 'float16' (fp16 autocast on a GPU
    /// without bf16) is our 'auto' (bfloat16 where the CPU has it, else float32). What is not carried is named in a
    /// note each.
    private static TrainConfig Train(Dictionary<object, object?>? config, GptConfig shape, List<string> notes)
    {
        var overrides = new List<KeyValuePair<string, string>>();
        var unknown = new List<string>();
        foreach (var (key, value) in config ?? [])
        {
            if (key is not string name || name is "init_from" or "ckpt_dir" or "device" or "vocab_size") continue;
            if (!TrainConfig.Keys.Contains(name)) { unknown.Add(name); continue; }
            var text = value switch
            {
                bool b => b ? "true" : "false", long l => l.ToString(CultureInfo.InvariantCulture),
                double d => d.ToString("R", CultureInfo.InvariantCulture), "float16" when name == "dtype" => TrainingDtype.Auto,
                string s => s, _ => null,
            };
            if (text is null) { notes.Add($"nanoGPT config '{name}' is a {value?.GetType().Name ?? "None"}, not a setting's value: not carried, our default is kept"); continue; }
            try
            {
                TrainConfig.Load(null, [.. overrides, new(name, text)], overridesSource: "nanoGPT config");
                overrides.Add(new(name, text));
            }
            catch (MiniGlmException e) { notes.Add($"nanoGPT config '{name}' = {text} is not carried ({e.Message}); our default is kept"); }
        }
        if (unknown.Count > 0) notes.Add($"nanoGPT settings with no counterpart here, not carried: {string.Join(", ", unknown)}");
        // The shape is the weights', whatever the config said.
        overrides.AddRange([new("n_layer", shape.NLayer.ToString()), new("n_head", shape.NHead.ToString()), new("n_embd", shape.NEmbd.ToString()),
            new("block_size", shape.BlockSize.ToString()), new("bias", shape.Bias ? "true" : "false")]);
        return TrainConfig.Load(null, overrides);
    }

    private static bool IsMaskBuffer(string name) => name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias");

    private static void Validate(GptConfig shape, string path)
    {
        try { shape.Validate(); }
        catch (MiniGlmException e) { throw new MiniGlmException($"{path}: model_args: {e.Message}"); }
    }

    private static int Int(Dictionary<object, object?> args, string key, string path) => args.GetValueOrDefault(key) switch
    {
        long l and >= int.MinValue and <= int.MaxValue => (int)l,
        _ => throw new MiniGlmException($"{path}: model_args '{key}' is missing or not an integer of 32 bits"),
    };

    private static double Number(Dictionary<object, object?> args, string key, string path) => args.GetValueOrDefault(key) switch
    {
        long l => l,
        double d => d,
        _ => throw new MiniGlmException($"{path}: model_args '{key}' is missing or not a number"),
    };

    /// best_val_loss is a 0-d tensor in nanoGPT (losses['val']), or a float.
    private static double? Scalar(TorchArchive archive, object? value)
    {
        switch (value)
        {
            case double d: return d;
            case long l: return l;
            case TorchArchive.TensorRef r:
                using (var t = archive.Load(r)) return t.numel() == 1 ? t.to(ScalarType.Float64).item<double>() : null;
            default: return null;
        }
    }
}
