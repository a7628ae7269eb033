using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// TorchSharp's native glue needs GLIBCXX_3.4.32; where the system lacks it, the build must have patched the copy
/// in this test output (not the NuGet cache), and a forward pass must run.
public class NativeRuntimeTests
{
    [Fact]
    public void A_forward_pass_runs_on_the_native_library_that_loads()
    {
        using var y = nn.functional.scaled_dot_product_attention(ones(1, 1, 4, 8), ones(1, 1, 4, 8), ones(1, 1, 4, 8), null, 0.0, true);
        Assert.Equal(new long[] { 1, 1, 4, 8 }, y.shape);
    }

    /// Compares the copy that loads with the one the TorchSharp package ships; skipped (not passed) where either
    /// cannot be found: off Linux, or with the NuGet cache somewhere this test does not know.
    [SkippableFact]
    public void The_copy_that_loads_is_patched_exactly_when_the_system_needs_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the GLIBCXX patch is for Linux only");
        var system = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        bool systemHasIt = system is not null && File.ReadAllText(system, System.Text.Encoding.Latin1).Contains("GLIBCXX_3.4.32\0");
        var loaded = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var shipped = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(loaded), $"{loaded} is missing");
        Skip.IfNot(File.Exists(shipped), $"the package's own copy is not at {shipped} (set NUGET_PACKAGES to the NuGet cache to compare)");
        Assert.Equal(!systemHasIt, !File.ReadAllBytes(loaded).AsSpan().SequenceEqual(File.ReadAllBytes(shipped)));
    }
}
