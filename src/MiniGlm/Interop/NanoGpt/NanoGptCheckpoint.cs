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
            NLayer = (int)Number(args, "n_layer", path), NHead = (int)Number(args, "n_head", path), NEmbd = (int)Number(args, "n_embd", path),
            BlockSize = (int)Number(args, "block_size", path), VocabSize = (int)Number(args, "vocab_size", path),
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
                Iter = root.GetValueOrDefault("iter_num") is long iter ? (int)iter : 0,
                BestValLoss = Scalar(archive, root.GetValueOrDefault("best_val_loss")) ?? double.PositiveInfinity,
            };
            return new ForeignModel(shape, weights, Train(root.GetValueOrDefault("config") as Dictionary<object, object?>, shape), state);
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

    /// The keys of nanoGPT's config that we have too (same names); nanoGPT-only ones (device, dtype, compile,
    /// backend, wandb_*) are dropped, and init_from and device, which were about nanoGPT's run and machine, are not carried.
    private static TrainConfig Train(Dictionary<object, object?>? config, GptConfig shape)
    {
        var overrides = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in config ?? [])
        {
            if (key is not string name || name is "init_from" or "ckpt_dir" or "device" || !TrainConfig.Keys.Contains(name)) continue;
            var text = value switch
            {
                bool b => b ? "true" : "false", long l => l.ToString(CultureInfo.InvariantCulture),
                double d => d.ToString("R", CultureInfo.InvariantCulture), string s => s, _ => null,
            };
            if (text is not null) overrides.Add(new(name, text));
        }
        try { return TrainConfig.Load(null, overrides); }
        catch (MiniGlmException)
        {
            // A value our trainer would refuse (nanoGPT allows it): keep the model's shape, our defaults for the rest.
            return TrainConfig.Load(null, [new("n_layer", shape.NLayer.ToString()), new("n_head", shape.NHead.ToString()),
                new("n_embd", shape.NEmbd.ToString()), new("block_size", shape.BlockSize.ToString()), new("bias", shape.Bias ? "true" : "false")]);
        }
    }

    private static bool IsMaskBuffer(string name) => name.EndsWith(".attn.bias") || name.EndsWith(".attn.masked_bias");

    private static void Validate(GptConfig shape, string path)
    {
        try { shape.Validate(); }
        catch (MiniGlmException e) { throw new MiniGlmException($"{path}: model_args: {e.Message}"); }
    }

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
