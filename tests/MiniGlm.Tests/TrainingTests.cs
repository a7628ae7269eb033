using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// The training loop end to end on a tiny corpus and a 2-layer × 64 model.
public class TrainingTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-train-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    private string Dataset()
    {
        var text = string.Concat(Enumerable.Range(0, 60).Select(i => $"第{i % 7}回 郭靖和黄蓉在桃花岛上练武，洪七公教他们降龙十八掌。\n"));
        var input = Path.Combine(root, "corpus.txt");
        File.WriteAllText(input, text);
        var dir = Path.Combine(root, "data");
        CorpusPreparer.Prepare(new PrepareOptions { Inputs = [input], OutDir = dir }, TextTokenizer.Load(TokenizerSpec.Gpt2));
        return dir;
    }

    private static TrainConfig Tiny(string dataset, string outDir, params (string Key, string Value)[] extra) =>
        TinyTraining.Config(dataset, outDir, 32, extra);

    [Fact]
    public void Tiny_model_overfits_a_tiny_corpus()
    {
        var data = Dataset();
        var run = Path.Combine(root, "run");
        var result = new Trainer(Tiny(data, run, ("max_iters", "120"), ("lr_decay_iters", "120"), ("dropout", "0.0"), ("snapshot_iter", "45"))).Run();
        var records = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName));
        var val = records.Where(r => r.Split == "val").ToList();
        Assert.Equal(0, val[0].Iter);
        Assert.True(val[0].Loss > 9, $"initial loss {val[0].Loss} should be near ln(50304) ≈ 10.8");
        Assert.True(result.LastValLoss < 1.5, $"final val loss {result.LastValLoss} should fall far below the start");
        Assert.True(File.Exists(Path.Combine(run, "best", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "latest", "optimizer.bin")));
        Assert.Equal(120, CheckpointStore.ReadState(Path.Combine(run, "latest")).Iter);
        Assert.Equal(120, records.Count(r => r.Split == "train"));
        // The snapshot keeps iteration 45's weights (between evaluations), and they are not the final ones.
        var snapshot = Path.Combine(run, Trainer.SnapshotDir(45));
        Assert.Equal(45, CheckpointStore.ReadState(snapshot).Iter);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(run, "latest", "model.safetensors")), File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void Resume_continues_the_same_curve_as_an_uninterrupted_run(string dtype)
    {
        var data = Dataset();
        string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
        (string, string)[] schedule = [("max_iters", "24"), ("lr_decay_iters", "24"), ("dropout", "0.1"), ("dtype", dtype)];
        new Trainer(Tiny(data, a, schedule)).Run();

        using var cts = new CancellationTokenSource();
        var first = new Trainer(Tiny(data, b, schedule), new TinyTraining.StopAt(13, cts)).Run(cts.Token);
        Assert.True(first.Cancelled);
        Assert.Equal(13, CheckpointStore.ReadState(Path.Combine(b, "latest")).Iter);
        // A resume names only what changes: the run's own config (max_iters, dropout, …) comes from the checkpoint.
        var resumed = Trainer.Configure(null, [new("out_dir", b), new("init_from", "resume")]);
        Assert.Equal(24, resumed.MaxIters);
        Assert.Equal(dtype, resumed.Dtype);
        Assert.Equal(["F32"], SafetensorsDtypes(Path.Combine(b, "latest", "model.safetensors"))); // master weights, also for bf16
        new Trainer(resumed).Run();

        var ra = MetricsLog.Read(Path.Combine(a, MetricsLog.FileName));
        var rb = MetricsLog.Read(Path.Combine(b, MetricsLog.FileName));
        Assert.Equal(ra.Select(r => (r.Iter, r.Split)), rb.Select(r => (r.Iter, r.Split)));
        foreach (var (x, y) in ra.Zip(rb)) Assert.Equal(x.Loss, y.Loss, 5);
    }

    private static string[] SafetensorsDtypes(string file)
    {
        using var reader = new BinaryReader(File.OpenRead(file));
        var header = System.Text.Json.JsonDocument.Parse(reader.ReadBytes((int)reader.ReadInt64()));
        return header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => p.Value.GetProperty("dtype").GetString()!).Distinct().ToArray();
    }

    [Fact]
    public void Micro_batches_give_the_same_training_as_the_whole_batch()
    {
        var data = Dataset();
        string whole = Path.Combine(root, "whole"), chunked = Path.Combine(root, "chunked");
        (string, string)[] run = [("max_iters", "6"), ("lr_decay_iters", "6"), ("dropout", "0.0"), ("eval_interval", "3")];
        new Trainer(Tiny(data, whole, [.. run, ("micro_batch_size", "8")])).Run();
        new Trainer(Tiny(data, chunked, [.. run, ("micro_batch_size", "3")])).Run(); // chunks of 3, 3 and 2 rows
        var a = MetricsLog.Read(Path.Combine(whole, MetricsLog.FileName));
        var b = MetricsLog.Read(Path.Combine(chunked, MetricsLog.FileName));
        Assert.Equal(a.Count, b.Count);
        foreach (var (x, y) in a.Zip(b)) Assert.Equal(x.Loss, y.Loss, 4);
    }

    [Fact]
    public void A_crash_between_the_two_renames_of_a_checkpoint_save_still_resumes()
    {
        var data = Dataset();
        var run = Path.Combine(root, "run");
        new Trainer(Tiny(data, run, ("max_iters", "10"), ("lr_decay_iters", "20"))).Run();
        // Save() moves latest/ aside to latest.old/ before renaming the new one in: die right there.
        Directory.Move(Path.Combine(run, "latest"), Path.Combine(run, "latest.old"));
        var resumed = Trainer.Configure(null, [new("out_dir", run), new("init_from", "resume"), new("max_iters", "12")]);
        var result = new Trainer(resumed).Run();
        Assert.Equal(12, result.Iter);
        Assert.Equal(12, CheckpointStore.ReadState(Path.Combine(run, "latest")).Iter);
        Assert.False(Directory.Exists(Path.Combine(run, "latest.old")));
    }

    [Fact]
    public void Fine_tuning_takes_the_model_shape_from_the_checkpoint_unless_a_key_contradicts_it()
    {
        var data = Dataset();
        var run = Path.Combine(root, "run");
        new Trainer(Tiny(data, run, ("max_iters", "2"), ("lr_decay_iters", "2"))).Run();
        KeyValuePair<string, string>[] Finetune(params (string, string)[] extra) =>
            [new("dataset", data), new("out_dir", Path.Combine(root, "ft")), new("init_from", "finetune"), new("ckpt_dir", run),
             new("batch_size", "4"), new("eval_iters", "1"), new("threads", "2"),
             .. extra.Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2))];
        // The defaults say 6 × 512 with block_size 256; the checkpoint is 2 × 64 with block_size 32.
        var config = Trainer.Configure(null, Finetune(("max_iters", "1")));
        Assert.Equal((2, 2, 64, 32), (config.NLayer, config.NHead, config.NEmbd, config.BlockSize));
        Assert.Equal(1, new Trainer(config).Run().Iter);
        Assert.Equal(16, Trainer.Configure(null, Finetune(("block_size", "16"))).BlockSize); // shorter rows are fine
        var e = Assert.Throws<MiniGlmException>(() => Trainer.Configure(null, Finetune(("n_layer", "6"))));
        Assert.Contains("'n_layer' is 6, but checkpoint", e.Message);
    }

    [Fact]
    public void Config_mistakes_name_the_key_and_the_expected_type()
    {
        KeyValuePair<string, string>[] One(string k, string v) => [new(k, v)];
        Assert.Contains("unknown config key 'n_layers'", Assert.Throws<MiniGlmException>(() => TrainConfig.Load(null, One("n_layers", "2"))).Message);
        Assert.Contains("'batch_size' expects an integer", Assert.Throws<MiniGlmException>(() => TrainConfig.Load(null, One("batch_size", "0.5"))).Message);
        Assert.Contains("'bias' expects true or false", Assert.Throws<MiniGlmException>(() => TrainConfig.Load(null, One("bias", "maybe"))).Message);
        Assert.Equal(0.0, TrainConfig.Load(null, One("dropout", "0")).Dropout); // nanoGPT refuses this; we need not
        var file = Path.Combine(root, "bad.json");
        File.WriteAllText(file, "{ \"n_embd\": \"wide\" }");
        var e = Assert.Throws<MiniGlmException>(() => TrainConfig.Load(file, []));
        Assert.Contains(file, e.Message);
        Assert.Contains("'n_embd' expects an integer", e.Message);
    }

    [Fact]
    public void A_corrupt_or_incomplete_checkpoint_is_a_clear_error()
    {
        var data = Dataset();
        var run = Path.Combine(root, "run");
        new Trainer(Tiny(data, run, ("max_iters", "10"), ("lr_decay_iters", "10"))).Run();
        var ckpt = Path.Combine(run, "latest");
        var weights = Path.Combine(ckpt, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        Assert.Contains("model.safetensors", Assert.Throws<MiniGlmException>(() => CheckpointStore.LoadModel(ckpt)).Message);
        File.Delete(Path.Combine(ckpt, "config.json"));
        Assert.Throws<MiniGlmException>(() => CheckpointStore.LoadModel(ckpt));
        Assert.Contains("no such checkpoint", Assert.Throws<MiniGlmException>(() => CheckpointStore.Resolve(Path.Combine(root, "nope"))).Message);
    }
}
