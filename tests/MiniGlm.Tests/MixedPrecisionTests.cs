using MiniGlm.Model;
using MiniGlm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// bf16 mixed precision (dtype=bfloat16): products in bf16, everything the optimizer touches in fp32. Runs on any
/// CPU: without native bf16, libtorch emulates it (slowly), which is enough to check the numbers.
public class MixedPrecisionTests
{
    [Fact]
    public void Bf16_gradients_match_fp32_and_the_master_weights_stay_fp32()
    {
        torch.manual_seed(7);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 64, BlockSize = 32, VocabSize = 320, Bias = true });
        var x = randint(0, 320, new long[] { 4, 32 });
        var y = randint(0, 320, new long[] { 4, 32 });
        var parameters = model.named_parameters().ToList();

        (double Loss, Tensor[] Grads) Step(ScalarType? dtype)
        {
            model.zero_grad();
            using var _ = Autocast.Enable(dtype);
            var logits = model.forward(x);
            Assert.Equal(dtype ?? ScalarType.Float32, logits.dtype); // the head's product really ran in that dtype
            var loss = GptModel.Loss(logits, y);
            Assert.Equal(ScalarType.Float32, loss.dtype);
            loss.backward();
            return (loss.item<float>(), parameters.Select(p => p.parameter.grad!.clone()).ToArray());
        }

        var (loss32, grads32) = Step(null);
        var (loss16, grads16) = Step(ScalarType.BFloat16);
        Assert.True(Math.Abs(loss16 - loss32) / loss32 < 5e-3, $"bf16 loss {loss16} vs fp32 {loss32}");
        double total = 0;
        foreach (var ((name, p), (g32, g16)) in parameters.Zip(grads32.Zip(grads16)))
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.Equal(ScalarType.Float32, g16.dtype); // accumulated in the fp32 master's gradient
            double diff = (g16 - g32).norm().item<float>(), norm = g32.norm().item<float>();
            // bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2 %); a few layers of it stay within a few %.
            Assert.True(diff <= 0.03 * norm + 1e-6, $"{name}: gradient differs by {diff / norm:P2}");
            total += diff;
        }
        Assert.True(total > 0, "bf16 gradients equal fp32 ones bit for bit: no product ran in bf16");

        using var optimizer = torch.optim.AdamW(model.parameters(), 1e-3);
        optimizer.step();
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Outside_an_autocast_scope_products_run_in_the_parameters_dtype()
    {
        using var model = new GptModel(new GptConfig { NLayer = 1, NHead = 2, NEmbd = 32, BlockSize = 8, VocabSize = 64 });
        var x = randint(0, 64, new long[] { 1, 8 });
        using (Autocast.Enable(ScalarType.BFloat16)) Assert.Equal(ScalarType.BFloat16, model.forward(x).dtype);
        Assert.Null(Autocast.Dtype);
        Assert.Equal(ScalarType.Float32, model.forward(x).dtype);
    }

    [Fact]
    public void Auto_picks_bf16_only_where_the_cpu_has_it_and_names_the_flag()
    {
        var flags = CpuFlags.Parse("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n");
        Assert.Contains("avx512_bf16", flags);
        Assert.DoesNotContain("amx_bf16", flags);
        Assert.Empty(CpuFlags.Parse("no flags here"));
        var auto = TrainingDtype.Resolve(TrainingDtype.Auto);
        Assert.Equal(CpuFlags.Bf16.Count > 0 ? ScalarType.BFloat16 : ScalarType.Float32, auto.Dtype);
        Assert.Contains(CpuFlags.Bf16.Count > 0 ? CpuFlags.Bf16[0] : "no avx512_bf16", auto.Reason);
        Assert.Null(TrainingDtype.Resolve(TrainingDtype.Float32).ComputeDtype);
        var e = Assert.Throws<MiniGlmException>(() => TrainConfig.Load(null, [new("dtype", "float16")]));
        Assert.Contains("'dtype' must be one of auto, float32, bfloat16, got 'float16'", e.Message);
    }
}
