namespace MiniGlm.Tests;

/// `--device cuda` for our trainer: on a machine without CUDA (this CPU build) a one-line error before any work.
/// Training on a GPU itself is untested here (no GPU); see docs/formats.md.
public class CudaDeviceTests
{
    [SkippableFact]
    public void Device_cuda_without_a_gpu_is_a_one_line_error()
    {
        Skip.If(TorchSharp.torch.cuda.is_available(), "CUDA is available here: this test is about its absence");
        using var tmp = new TempDir();
        tmp.Write("corpus/a.txt", string.Concat(Enumerable.Repeat("abcdefgh ", 400)));
        Assert.Equal(0, Cli.Run("prepare", "--input", tmp["corpus"], "--out", tmp["data"]).Code);
        var (code, _, err) = Cli.Run("train", "--dataset", tmp["data"], "--out_dir", tmp["out"], "--device", "cuda",
            "--n_layer=1", "--n_head=1", "--n_embd=8", "--block_size=8", "--batch_size=2", "--max_iters=1");
        Assert.Equal(1, code);
        Assert.Contains("device cuda: CUDA is not available", err);
        Assert.Equal(1, Cli.Run("train", "--dataset", tmp["data"], "--device", "gpu").Code);
    }
}
