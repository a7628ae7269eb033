using System.Runtime.CompilerServices;

namespace MiniGlm.Tests;

/// A check made by a tool outside .NET: PyTorch and jinja2 (Debian's python3-torch, python3-jinja2), Hugging Face's
/// JavaScript (npm), llama.cpp (LLamaSharp's natives). Where the tool is missing, a developer sees the test skipped
/// with what to install; CI sets MINIGLM_REQUIRE_OUTSIDE_CHECKS=1 (.ci/run), and there a missing tool fails the
/// test, so a check meant to run in CI never passes by not running. Each check writes a line (ran or skipped, the
/// tool, the test) to the file MINIGLM_OUTSIDE_CHECKS_LOG names; test.sh prints them after the run.
public static class OutsideCheck
{
    public const string LlamaCpp = "llama.cpp (LLamaSharp 0.30.0's natives)";

    public static bool Required => Environment.GetEnvironmentVariable("MINIGLM_REQUIRE_OUTSIDE_CHECKS") == "1";

    private static readonly Lock logLock = new();

    /// Marks the calling test as a check by <paramref name="tool"/>: records that it runs, or (without the tool)
    /// skips it, or in CI fails it.
    public static void Require(string tool, bool available, string whyNot, [CallerFilePath] string file = "", [CallerMemberName] string test = "")
    {
        var name = $"{Path.GetFileNameWithoutExtension(file)}.{test}";
        Log(available ? "ran" : Required ? "FAILED" : "skipped", tool, name, available ? "" : whyNot);
        if (available) return;
        var message = $"{tool} is not available: {whyNot}";
        if (Required) Assert.Fail($"{message} (MINIGLM_REQUIRE_OUTSIDE_CHECKS=1: outside checks may not be skipped here)");
        Skip.If(true, message);
    }

    /// Records a check by a tool that is always there (llama.cpp's natives come with the LLamaSharp package).
    public static void Ran(string tool, [CallerFilePath] string file = "", [CallerMemberName] string test = "") =>
        Log("ran", tool, $"{Path.GetFileNameWithoutExtension(file)}.{test}", "");

    private static void Log(string outcome, string tool, string test, string why)
    {
        if (Environment.GetEnvironmentVariable("MINIGLM_OUTSIDE_CHECKS_LOG") is not { Length: > 0 } path) return;
        lock (logLock) File.AppendAllText(path, $"{outcome}\t{tool}\t{test}\t{why}\n");
    }
}
