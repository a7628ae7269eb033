
namespace MiniGlm.Tests;

/// Bad input through the real command line: a one-line error naming what is wrong, a non-zero exit, no stack trace.
public class CliTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-cli-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    private static void AssertOneLineError((int Code, string Out, string Err) r, string expected)
    {
        Assert.NotEqual(0, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData("sample", 500, "0.8", "int8")]
    [InlineData("chat", 256, "0.3 for an SFT model, 0.8 for a pretrained one", "int8")]
    [InlineData("eval", 256, "0", "float32")]
    public void Each_commands_help_shows_the_sampling_defaults_it_uses(string command, int maxNewTokens, string temperature, string dtype)
    {
        var (code, help, _) = Cli.Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains($"tokens to generate per answer ({maxNewTokens})", help);
        Assert.Contains($"0 = greedy ({temperature})", help);
        Assert.Contains($"or bfloat16 ({dtype})", help);
    }

    [Fact]
    public void Prepare_reports_missing_empty_and_invalid_input()
    {
        var missing = Path.Combine(root, "missing.txt");
        AssertOneLineError(Cli.Run("prepare", "--input", missing, "--out", Path.Combine(root, "d")), "missing.txt");
        var empty = Path.Combine(root, "empty.txt");
        File.WriteAllText(empty, "");
        AssertOneLineError(Cli.Run("prepare", "--input", empty, "--out", Path.Combine(root, "d")), "empty");
        var bad = Path.Combine(root, "bad.txt");
        File.WriteAllBytes(bad, [0x61, 0x62, 0xE4, 0xBD, 0x41]); // "ab" then a broken 3-byte sequence
        AssertOneLineError(Cli.Run("prepare", "--input", bad, "--out", Path.Combine(root, "d")), "byte offset 2");
        Assert.False(File.Exists(Path.Combine(root, "d", "train.bin")));
    }

    [Fact]
    public void Train_reports_unknown_keys_wrong_types_and_missing_data()
    {
        AssertOneLineError(Cli.Run("train", "--dataset", root, "--n_layers=2"), "unknown config key 'n_layers'");
        AssertOneLineError(Cli.Run("train", "--dataset", root, "--batch-size=big"), "'batch_size' expects an integer");
        AssertOneLineError(Cli.Run("train", "--dataset", Path.Combine(root, "none")), "prepare");
        AssertOneLineError(Cli.Run("train", Path.Combine(root, "no-config.json")), "no-config.json");
        AssertOneLineError(Cli.Run("train", "--out_dir", Path.Combine(root, "fresh"), "--dataset", root, "--init_from=resume"), "nothing to resume");
    }

    [Fact]
    public void Sample_reports_a_missing_checkpoint_and_bad_options()
    {
        AssertOneLineError(Cli.Run("sample", "--ckpt", Path.Combine(root, "none")), "no such checkpoint");
        AssertOneLineError(Cli.Run("sample", "--ckpt", root, "--temperature", "-1"), "temperature");
        AssertOneLineError(Cli.Run("sample", "--ckpt", root, "--top_p", "1.5"), "top_p");
        AssertOneLineError(Cli.Run("sample", "--ckpt", root, "--tempurature", "1"), "unknown option --tempurature");
    }

    [Fact]
    public void Unknown_command_is_an_error()
    {
        var r = Cli.Run("trian");
        Assert.Equal(2, r.Code);
        Assert.Contains("unknown command 'trian'", r.Err);
    }
}
