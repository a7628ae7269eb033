using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// SFT end to end on a tiny QA set: masks reach the loss, packed rows keep examples apart, chat answers.
public class SftTrainingTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-sft-").FullName;
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);
    private static readonly (string Q, string A)[] Pairs =
    [
        ("《静夜思》的作者是谁？", "李白。"), ("《春晓》的作者是谁？", "孟浩然。"),
        ("《登鹳雀楼》的作者是谁？", "王之涣。"), ("《江雪》的作者是谁？", "柳宗元。"),
    ];

    public void Dispose() => Directory.Delete(root, true);

    private string Data(SftLayout layout, string name = "sft", int blockSize = 128)
    {
        var qa = Path.Combine(root, "qa.jsonl");
        File.WriteAllLines(qa, Pairs.Select(p => $"{{\"Question\": \"{p.Q}\", \"Answer\": \"{p.A}\"}}"));
        var dir = Path.Combine(root, name);
        SftPreparer.Prepare(new SftOptions { Inputs = [qa], ValInputs = [qa], OutDir = dir, BlockSize = blockSize, Layout = layout }, Gpt2);
        return dir;
    }

    private static TrainConfig Tiny(string dataset, string outDir, params (string Key, string Value)[] extra) =>
        TinyTraining.Config(dataset, outDir, 128, [("batch_size", "4"), ("eval_iters", "2"), ("eval_interval", "50"),
            ("log_interval", "10"), ("warmup_iters", "10"), ("dropout", "0.0"), .. extra]);

    /// The shape keys of each arch in these tests: llama with grouped-query attention (4 query heads, 2 key/value).
    private static (string, string)[] Arch(string arch) => arch == GptConfig.Llama
        ? [("arch", "llama"), ("n_head", "4"), ("n_kv_head", "2"), ("intermediate_size", "128")]
        : [];

    [Theory]
    [InlineData(GptConfig.Gpt2)]
    [InlineData(GptConfig.Llama)]
    public void A_tiny_model_learns_to_answer_a_tiny_QA_set_exactly(string arch)
    {
        var run = Path.Combine(root, "run");
        // One packed row holds all four examples, so a batch of one row trains on the whole set.
        new Trainer(Tiny(Data(SftLayout.Packed), run, [("batch_size", "1"), ("max_iters", "200"), ("lr_decay_iters", "200"), .. Arch(arch)])).Run();
        using var model = LoadedModel.Load(run);
        Assert.Equal(arch, model.Config.Model.Arch);
        Assert.Equal(ChatTemplate.Seed, model.Config.ChatTemplate); // the template travels in the checkpoint
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 12 };
        foreach (var (q, a) in Pairs)
            Assert.Equal(a, string.Concat(new ChatSession(model).Send(q, greedy)));
    }

    [Fact]
    public void Packed_and_padded_rows_give_each_example_the_same_loss()
    {
        manual_seed(11);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 128, VocabSize = 50304 });
        model.eval();
        var packedDir = Data(SftLayout.Packed, "packed");
        var paddedDir = Data(SftLayout.Padded, "padded");
        Assert.True(DatasetMeta.Load(packedDir).TrainRows < DatasetMeta.Load(paddedDir).TrainRows);
        // Each answer token's loss, as a set (rows are drawn at random, many times over): the same in both layouts
        // only if a packed example neither sees its neighbours nor is shifted in position.
        var packed = Distinct(AnswerLosses(model, packedDir));
        var padded = Distinct(AnswerLosses(model, paddedDir));
        Assert.Equal(padded.Length, packed.Length);
        Assert.True(packed.Length >= Pairs.Length);
        foreach (var (x, y) in packed.Zip(padded)) Assert.Equal(y, x, 4);
    }

    private static double[] Distinct(IEnumerable<double> xs)
    {
        var sorted = xs.Order().ToList();
        return sorted.Where((x, i) => i == 0 || x - sorted[i - 1] > 1e-4).ToArray();
    }

    private static IEnumerable<double> AnswerLosses(GptModel model, string dir)
    {
        using var batches = new SftBatcher(dir, DatasetMeta.Load(dir), batchSize: 32, seed: 2);
        using var _ = no_grad();
        var b = batches.Eval("train", 0);
        var logits = model.Forward(b.X, b.AttentionMask, positions: b.Positions);
        var ce = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), b.Y.view(-1), reduction: nn.Reduction.None);
        var losses = ce.data<float>().ToArray();
        var mask = b.LossMask!.view(-1).data<float>().ToArray();
        return losses.Where((_, i) => mask[i] > 0).Select(l => (double)l);
    }

    [Fact]
    public void An_all_masked_batch_gives_a_finite_loss_and_no_update()
    {
        // An SFT dataset whose loss mask is all zero, written by hand.
        var dir = Path.Combine(root, "masked");
        Directory.CreateDirectory(dir);
        int rows = 4, rowTokens = 17;
        var ids = Enumerable.Range(0, rows * rowTokens).Select(i => 100 + i % 50).ToArray();
        TokenFile.Write(DatasetMeta.TrainPath(dir), ids);
        TokenFile.Write(DatasetMeta.ValPath(dir), ids);
        File.WriteAllBytes(DatasetMeta.MaskPath(dir, val: false), new byte[ids.Length]);
        File.WriteAllBytes(DatasetMeta.MaskPath(dir, val: true), new byte[ids.Length]);
        new DatasetMeta { Kind = DatasetMeta.Sft, Layout = SftLayout.Padded, BlockSize = rowTokens - 1, Tokenizer = Gpt2.Spec,
            VocabSize = Gpt2.VocabSize, EotToken = Gpt2.EotId, TrainTokens = ids.Length, ValTokens = ids.Length,
            ChatTemplate = ChatTemplate.Seed }.Save(dir);
        var ckpt = TinyCheckpoint.Create(Path.Combine(root, "base"));
        var before = File.ReadAllBytes(Path.Combine(ckpt, "model.safetensors"));

        var run = Path.Combine(root, "run");
        var result = new Trainer(Tiny(dir, run, ("init_from", "finetune"), ("ckpt_dir", ckpt), ("block_size", "16"),
            ("max_iters", "3"), ("lr_decay_iters", "3"), ("eval_interval", "3"))).Run();
        Assert.Equal(3, result.SkippedSteps);
        Assert.True(double.IsFinite(result.LastValLoss!.Value));
        var records = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName));
        Assert.All(records, r => Assert.True(double.IsFinite(r.Loss)));
        using var a = CheckpointStore.LoadModel(ckpt).Model;
        using var b = CheckpointStore.LoadModel(Path.Combine(run, "latest")).Model;
        foreach (var ((_, p), (_, q)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.Equal(0f, (p - q).abs().max().item<float>());
    }

    [Theory]
    [InlineData("float32", GptConfig.Gpt2)]
    [InlineData("bfloat16", GptConfig.Gpt2)]
    [InlineData("float32", GptConfig.Llama)]
    [InlineData("bfloat16", GptConfig.Llama)]
    public void An_SFT_run_resumes_to_the_same_curve(string dtype, string arch)
    {
        var data = Data(SftLayout.Packed);
        string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
        (string, string)[] schedule = [("max_iters", "12"), ("lr_decay_iters", "12"), ("log_interval", "1"), ("eval_interval", "6"), ("dtype", dtype), .. Arch(arch)];
        new Trainer(Tiny(data, a, schedule)).Run();
        using var cts = new CancellationTokenSource();
        new Trainer(Tiny(data, b, schedule), new TinyTraining.StopAt(5, cts)).Run(cts.Token);
        new Trainer(Trainer.Configure(null, [new("out_dir", b), new("init_from", "resume")])).Run();
        var ra = MetricsLog.Read(Path.Combine(a, MetricsLog.FileName));
        var rb = MetricsLog.Read(Path.Combine(b, MetricsLog.FileName));
        Assert.Equal(ra.Select(r => (r.Iter, r.Split)), rb.Select(r => (r.Iter, r.Split)));
        foreach (var (x, y) in ra.Zip(rb)) Assert.Equal(x.Loss, y.Loss, 5);
    }
}
