using System.Text.Json;
using MiniGlm.Checkpoints;
using MiniGlm.Model;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Our GPT must reproduce nanoGPT's own numbers for the same weights (fixture made by nanoGPT's model.py).
public class ModelReferenceTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nanogpt-reference");

    [Fact]
    public void Reproduces_nanogpt_logits_and_losses()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")));
        var root = doc.RootElement;
        var cfg = root.GetProperty("config");
        var config = new GptConfig
        {
            NLayer = cfg.GetProperty("n_layer").GetInt32(), NHead = cfg.GetProperty("n_head").GetInt32(),
            NEmbd = cfg.GetProperty("n_embd").GetInt32(), BlockSize = cfg.GetProperty("block_size").GetInt32(),
            VocabSize = cfg.GetProperty("vocab_size").GetInt32(), Bias = false, Dropout = 0,
        };
        using var model = new GptModel(config);
        ModelWeights.Load(model, Path.Combine(Dir, "model.safetensors"));
        model.eval();

        using var scope = NewDisposeScope();
        var idx = Matrix(root.GetProperty("input_ids"), int64);
        var targets = Matrix(root.GetProperty("targets"), int64);
        var mask = Matrix(root.GetProperty("loss_mask"), float32);
        var expectedLogits = tensor(root.GetProperty("logits").EnumerateArray()
            .SelectMany(r => r.EnumerateArray()).SelectMany(r => r.EnumerateArray()).Select(v => v.GetSingle()).ToArray())
            .view(2, 16, 64);

        using var _ = no_grad();
        var logits = model.call(idx);
        Assert.True((logits - expectedLogits).abs().max().item<float>() < 2e-5f);
        Assert.Equal(root.GetProperty("loss").GetDouble(), GptModel.Loss(logits, targets).item<float>(), 5);
        Assert.Equal(root.GetProperty("masked_loss").GetDouble(), GptModel.Loss(logits, targets, mask).item<float>(), 5);
    }

    [Fact]
    public void Seed_config_has_nanogpt_parameter_count_with_one_tied_embedding()
    {
        using var model = new GptModel(new GptConfig { NLayer = 6, NHead = 8, NEmbd = 512, BlockSize = 256, VocabSize = 50304 });
        Assert.Equal(44_636_672, model.ParameterCount());
        Assert.Equal(44_767_744, model.ParameterCount(includePositionEmbeddings: true));
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("lm_head"));
        Assert.Contains(model.named_parameters(), p => p.name == "transformer.h.0.attn.c_attn.weight");
    }

    private static Tensor Matrix(JsonElement rows, ScalarType dtype)
    {
        var values = rows.EnumerateArray().SelectMany(r => r.EnumerateArray()).Select(v => v.GetDouble()).ToArray();
        return tensor(values).view(rows.GetArrayLength(), -1).to(dtype);
    }
}
