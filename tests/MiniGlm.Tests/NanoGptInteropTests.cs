using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Interop;
using MiniGlm.Interop.NanoGpt;
using MiniGlm.Interop.Pickle;
using MiniGlm.Interop.Torch;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// nanoGPT's ckpt.pt and meta.pkl, against a checkpoint written by nanoGPT's own train.py and the logits, losses and
/// greedy tokens nanoGPT's model.py computed for it (Fixtures/nanogpt-ckpt/README.md).
public class NanoGptInteropTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nanogpt-ckpt");
    private static readonly string Ckpt = Path.Combine(Dir, "ckpt.pt"), Meta = Path.Combine(Dir, "meta.pkl");

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement;

    [Fact]
    public void Import_reproduces_nanogpt_logits_losses_and_greedy_tokens()
    {
        var expected = Expected();
        using var foreign = NanoGptCheckpoint.Read(Ckpt);
        Assert.Equal(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 16, VocabSize = 64, Bias = false, Dropout = 0 }, foreign.Shape);
        Assert.Equal(40, foreign.State.Iter);
        Assert.Equal(expected.GetProperty("best_val_loss").GetDouble(), foreign.State.BestValLoss, 6);
        using var model = new GptModel(foreign.Shape);
        ModelWeights.Load(model, foreign.Weights, Ckpt);
        model.eval();

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = model.call(Matrix(expected.GetProperty("input_ids")));
        var want = tensor(expected.GetProperty("logits").EnumerateArray().SelectMany(r => r.EnumerateArray())
            .SelectMany(r => r.EnumerateArray()).Select(v => v.GetSingle()).ToArray()).view(2, 16, 64);
        Assert.True((logits - want).abs().max().item<float>() < 1e-5f);
        Assert.Equal(expected.GetProperty("loss").GetDouble(), GptModel.Loss(logits, Matrix(expected.GetProperty("targets"))).item<float>(), 1e-6);
        Assert.Equal(expected.GetProperty("windows_loss").GetDouble(), WindowsLoss(model, model.Config.BlockSize), 1e-6);
        Assert.Equal(expected.GetProperty("greedy_24").EnumerateArray().Select(v => v.GetInt64()),
            Greedy(model, expected.GetProperty("greedy_prompt").EnumerateArray().Select(v => v.GetInt64()).ToList(), 24, 64));
    }

    [Fact]
    public void Imported_char_model_keeps_nanogpt_logits_and_adds_an_end_of_text_id()
    {
        using var tmp = new TempDir();
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", Ckpt, "--tokenizer", Meta, "--out", tmp["imported"]);
        Assert.True(code == 0, err);
        var config = CheckpointStore.ReadConfig(tmp["imported"]);
        Assert.Equal(TokenizerSpec.CharsType, config.Tokenizer.Type);
        Assert.Equal(65, config.Model.VocabSize); // 64 characters + <|endoftext|>
        var tok = TextTokenizer.Load(config.Tokenizer);
        Assert.Equal(64, tok.EotId);
        Assert.Equal([0, 1, 25], tok.Encode("AB\u00e9Z"));  // é is not in the vocabulary: dropped
        Assert.Equal("ABZ", tok.Decode([0, 1, 64, 25]));

        var expected = Expected();
        var (model, _) = CheckpointStore.LoadModel(tmp["imported"]);
        using (model)
        using (var _ = no_grad())
        using (var scope = NewDisposeScope())
        {
            model.eval();
            var logits = model.call(Matrix(expected.GetProperty("input_ids")));
            Assert.Equal(0f, logits[.., .., 64].abs().max().item<float>());
            Assert.Equal(expected.GetProperty("loss").GetDouble(),
                GptModel.Loss(logits[.., .., ..64], Matrix(expected.GetProperty("targets"))).item<float>(), 1e-6);
        }
    }

    [Fact]
    public void Imported_char_model_samples_and_finetunes()
    {
        using var tmp = new TempDir();
        Assert.Equal(0, Cli.Run("import", "--from", "nanogpt", Ckpt, "--tokenizer", Meta, "--out", tmp["imported"]).Code);
        var (code, output, err) = Cli.Run("sample", "--ckpt", tmp["imported"], "--start", "JKL", "--num_samples", "1",
            "--max_new_tokens", "8", "--temperature", "0.001", "--seed", "1");
        Assert.True(code == 0, err);
        Assert.StartsWith("JKLMNOPQRST", output); // the fixture learned the alphabet's order

        // SFT-style fine-tuning on top: data encoded with the imported checkpoint's tokenizer.
        var text = string.Concat(Enumerable.Range(0, 400).Select(i => (char)('A' + (i * 7 % 26))));
        tmp.Write("corpus/a.txt", text);
        Assert.Equal(0, Cli.Run("prepare", "--input", tmp["corpus"], "--tokenizer", tmp["imported"], "--out", tmp["data"]).Code);
        (code, _, err) = Cli.Run("train", "--dataset", tmp["data"], "--out_dir", tmp["ft"], "--init_from=finetune",
            "--ckpt_dir", tmp["imported"], "--block_size=16", "--batch_size=4", "--max_iters=3", "--eval_interval=3",
            "--eval_iters=1", "--threads=2", "--warmup_iters=1");
        Assert.True(code == 0, err);
        var ft = CheckpointStore.ReadConfig(CheckpointStore.Resolve(tmp["ft"]));
        Assert.Equal(TokenizerSpec.CharsType, ft.Tokenizer.Type);
        Assert.Equal(65, ft.Model.VocabSize);
    }

    [Fact]
    public void Export_then_import_gives_identical_logits()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        var (code, _, err) = Cli.Run("export", "--ckpt", ckpt, "--format", "nanogpt", "--out", tmp["nano/ckpt.pt"]);
        Assert.True(code == 0, err);
        Assert.Equal(0, Cli.Run("import", "--from", "nanogpt", tmp["nano/ckpt.pt"], "--tokenizer", "gpt2", "--out", tmp["back"]).Code);
        AssertSameLogits(ckpt, tmp["back"]);
        Assert.Equal(1, CheckpointStore.ReadState(tmp["back"]).Iter);
    }

    [Fact]
    public void Torch_compile_prefixes_are_stripped()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", "nanogpt", "--out", tmp["a.pt"]).Code);
        Rewrite(tmp["a.pt"], tmp["compiled.pt"], model =>
            model.ToDictionary(kv => (object)("_orig_mod." + kv.Key), kv => kv.Value));
        Assert.Equal(0, Cli.Run("import", "--from", "nanogpt", tmp["compiled.pt"], "--out", tmp["back"]).Code);
        AssertSameLogits(ckpt, tmp["back"]);
    }

    /// nanoGPT writes dtype 'float16' where bf16 is missing (train.py's default on such GPUs). The fixture's own
    /// pickle, that one string changed, byte for byte otherwise: the training config comes across key by key.
    [Fact]
    public void A_float16_checkpoint_keeps_its_training_config_with_dtype_auto()
    {
        using var tmp = new TempDir();
        using (var source = ZipFile.OpenRead(Ckpt))
        using (var target = ZipFile.Open(tmp["fp16.pt"], ZipArchiveMode.Create))
            foreach (var entry in source.Entries)
            {
                using var from = entry.Open();
                var bytes = new MemoryStream();
                from.CopyTo(bytes);
                var data = bytes.ToArray();
                if (entry.FullName.EndsWith("/data.pkl")) Patch(data, "float32", "float16");
                using var to = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                to.Write(data);
            }
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", tmp["fp16.pt"], "--tokenizer", Meta, "--out", tmp["out"]);
        Assert.True(code == 0, err);
        var train = CheckpointStore.ReadConfig(tmp["out"]).Train;
        Assert.Equal("auto", train.Dtype);
        Assert.Equal((0.003, 0.95, 6e-05, 40, 5, 8, 40), (train.LearningRate, train.Beta2, train.MinLr, train.MaxIters, train.WarmupIters, train.BatchSize, train.GradientAccumulationSteps));
        // The settings nanoGPT has and we do not are named, not dropped silently.
        Assert.Contains("note: ", err);
        Assert.Contains("not carried: eval_only, wandb_log, wandb_project, wandb_run_name, backend, compile", err);
    }

    [Fact]
    public void A_config_value_we_cannot_take_is_named_and_the_rest_is_kept()
    {
        using var tmp = new TempDir();
        using (var archive = TorchArchive.Open(Ckpt))
        {
            var root = new Dictionary<object, object?>((Dictionary<object, object?>)archive.Root!);
            var config = new Dictionary<object, object?>((Dictionary<object, object?>)root["config"]!) { ["learning_rate"] = -1.0, ["beta1"] = "high" };
            root["config"] = config;
            root["model"] = ((Dictionary<object, object?>)root["model"]!).ToDictionary(kv => kv.Key, kv => (object?)archive.Load((TorchArchive.TensorRef)kv.Value!));
            root["best_val_loss"] = archive.Load((TorchArchive.TensorRef)root["best_val_loss"]!);
            root.Remove("optimizer");
            TorchArchiveWriter.Write(tmp["odd.pt"], root);
        }
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", tmp["odd.pt"], "--tokenizer", Meta, "--out", tmp["out"]);
        Assert.True(code == 0, err);
        Assert.Contains("nanoGPT config 'learning_rate' = -1 is not carried (config key 'learning_rate' must be positive); our default is kept", err);
        Assert.Contains("nanoGPT config 'beta1' = high is not carried", err);
        var train = CheckpointStore.ReadConfig(tmp["out"]).Train;
        var defaults = new MiniGlm.Training.TrainConfig();
        Assert.Equal((defaults.LearningRate, defaults.Beta1), (train.LearningRate, train.Beta1));
        Assert.Equal((0.95, 6e-05, 40, "float32"), (train.Beta2, train.MinLr, train.MaxIters, train.Dtype)); // the rest came across
    }

    private static void Patch(byte[] data, string from, string to)
    {
        var at = data.AsSpan().IndexOf(Encoding.ASCII.GetBytes(from));
        Assert.True(at >= 0, $"'{from}' not in the pickle");
        Encoding.ASCII.GetBytes(to).CopyTo(data, at);
    }

    [Theory]
    [InlineData("missing", "tensor 'transformer.h.1.mlp.c_fc.weight' is missing")]
    [InlineData("shape", "has shape [16,32], the model expects")]
    [InlineData("architecture", "not nanoGPT's GPT architecture")]
    [InlineData("untied", "an untied output layer")]
    public void Bad_checkpoints_are_one_line_errors(string damage, string message)
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", "nanogpt", "--out", tmp["a.pt"]).Code);
        Rewrite(tmp["a.pt"], tmp["bad.pt"], model =>
        {
            var d = new Dictionary<object, object?>(model);
            switch (damage)
            {
                case "missing": d.Remove("transformer.h.1.mlp.c_fc.weight"); break;
                case "shape": d["transformer.wpe.weight"] = zeros(16, 32); break;
                case "architecture": d = d.ToDictionary(kv => (object)((string)kv.Key).Replace("transformer.", "model."), kv => kv.Value); break;
                case "untied": d["lm_head.weight"] = ones(50304, 32); break;
            }
            return d;
        });
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", tmp["bad.pt"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void Vocabulary_that_does_not_fit_the_model_and_an_existing_output_are_refused()
    {
        using var tmp = new TempDir();
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", Ckpt, "--tokenizer", "gpt2", "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains("vocab_size 64, but tokenizer gpt2 has 50257 ids", err);
        Assert.False(Directory.Exists(tmp["out"]));

        Directory.CreateDirectory(tmp["taken"]);
        (code, _, err) = Cli.Run("import", "--from", "nanogpt", Ckpt, "--tokenizer", Meta, "--out", tmp["taken"]);
        Assert.Equal(1, code);
        Assert.Contains("already exists; pass --force", err);
        Assert.Equal(0, Cli.Run("import", "--from", "nanogpt", Ckpt, "--tokenizer", Meta, "--out", tmp["taken"], "--force").Code);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "Popen")]
    public void A_pickle_that_asks_for_code_is_refused_before_anything_runs(string module, string name)
    {
        using var tmp = new TempDir();
        var marker = tmp["ran"];
        // GLOBAL module.name, then REDUCE with ("touch <marker>",): what `pickle.loads` would execute.
        var evil = new MemoryStream();
        evil.Write([0x80, 2]);
        evil.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        var arg = Encoding.UTF8.GetBytes($"touch {marker}");
        evil.WriteByte((byte)'X'); evil.Write(BitConverter.GetBytes(arg.Length)); evil.Write(arg);
        evil.Write([0x85, (byte)'R', (byte)'.']);

        var ckpt = tmp["evil.pt"];
        using (var zip = ZipFile.Open(ckpt, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl").Open()) s.Write(evil.ToArray());
        var (code, _, err) = Cli.Run("import", "--from", "nanogpt", ckpt, "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains($"asks for '{module}.{name}', which is refused", err);
        Assert.Single(err.TrimEnd().Split('\n'));

        var meta = tmp.Write("meta.pkl", evil.ToArray());
        var e = Assert.Throws<MiniGlmException>(() => NanoGptMeta.Read(meta));
        Assert.Contains($"'{module}.{name}'", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Protocol_4_stack_global_is_checked_too()
    {
        // STACK_GLOBAL takes module and name from the stack (protocol 4, what pickle.dump writes by default).
        var bytes = new List<byte> { 0x80, 4, 0x8c, 2 };
        bytes.AddRange("os"u8.ToArray());
        bytes.AddRange([0x8c, 6]);
        bytes.AddRange("system"u8.ToArray());
        bytes.AddRange([0x93, (byte)'.']);
        var e = Assert.Throws<MiniGlmException>(() => new PickleReader("x.pkl", new Dictionary<string, PickleReader.Callable?>()).Read(bytes.ToArray()));
        Assert.Contains("'os.system'", e.Message);
    }

    [Fact]
    public void Meta_pkl_round_trips_through_our_writer()
    {
        using var tmp = new TempDir();
        var spec = NanoGptMeta.Read(Meta);
        Assert.Equal(64, spec.Chars!.Count);
        Assert.Equal("A", spec.Chars[0]);
        NanoGptMeta.Write(tmp["meta.pkl"], spec.Chars);
        Assert.Equal(spec.Chars, NanoGptMeta.Read(tmp["meta.pkl"]).Chars);
    }

    [Fact]
    public void A_failed_write_leaves_nothing_behind()
    {
        using var tmp = new TempDir();
        var target = tmp["out/ckpt.pt"];
        var e = Assert.Throws<MiniGlmException>(() => ModelFiles.WriteFile(target, t =>
        {
            File.WriteAllText(t, "half");
            throw new IOException("No space left on device");
        }));
        Assert.Contains("No space left on device", e.Message);
        Assert.Empty(Directory.GetFiles(tmp["out"]));
        e = Assert.Throws<MiniGlmException>(() => ModelFiles.WriteDirectory(tmp["hf"], d =>
        {
            File.WriteAllText(Path.Combine(d, "config.json"), "{}");
            throw new IOException("No space left on device");
        }));
        Assert.False(Directory.Exists(tmp["hf"]));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp.Path), p => p.Contains(".tmp-"));
    }

    /// Rewrites a ckpt.pt's state dict (loading every tensor), keeping the rest.
    internal static void Rewrite(string from, string to, Func<Dictionary<object, object?>, Dictionary<object, object?>> change)
    {
        using var archive = TorchArchive.Open(from);
        var root = new Dictionary<object, object?>((Dictionary<object, object?>)archive.Root!);
        var model = ((Dictionary<object, object?>)root["model"]!).ToDictionary(kv => kv.Key, kv => (object?)archive.Load((TorchArchive.TensorRef)kv.Value!));
        root["model"] = change(model);
        root.Remove("optimizer");
        TorchArchiveWriter.Write(to, root);
    }

    internal static void AssertSameLogits(string a, string b)
    {
        var (ma, _) = CheckpointStore.LoadModel(a);
        var (mb, _) = CheckpointStore.LoadModel(b);
        using (ma) using (mb) using (var _ = no_grad()) using (var scope = NewDisposeScope())
        {
            ma.eval(); mb.eval();
            var idx = randint(0, ma.Config.VocabSize, [2, Math.Min(16, ma.Config.BlockSize)], dtype: int64);
            Assert.Equal(0f, (ma.call(idx) - mb.call(idx)).abs().max().item<float>());
        }
    }

    private static double WindowsLoss(GptModel model, int block)
    {
        using var val = TokenFile.Open(Path.Combine(Dir, "val.bin"));
        var losses = new List<double>();
        for (long i = 0; i + block + 1 <= val.Length; i += block)
        {
            using var scope = NewDisposeScope();
            var w = Enumerable.Range(0, block + 1).Select(j => (long)val[i + j]).ToArray();
            var x = tensor(w[..block]).view(1, block);
            var y = tensor(w[1..]).view(1, block);
            losses.Add(GptModel.Loss(model.call(x), y).item<float>());
        }
        return losses.Average();
    }

    /// nanoGPT's generate with top_k=1: the last block_size tokens in, the most likely next id out.
    private static List<long> Greedy(GptModel model, List<long> ids, int steps, int vocab)
    {
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var ctx = ids.Skip(Math.Max(0, ids.Count - model.Config.BlockSize)).ToArray();
            var logits = model.call(tensor(ctx).view(1, -1))[0, -1, ..vocab];
            ids.Add(logits.argmax().item<long>());
        }
        return ids;
    }

    private static Tensor Matrix(JsonElement rows) =>
        tensor(rows.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => v.GetInt64()).ToArray()).view(rows.GetArrayLength(), -1);
}
