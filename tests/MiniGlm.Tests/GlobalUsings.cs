global using Xunit;

// TorchSharp's thread count, seed and default dtype are process-wide: tensor tests must not run in parallel.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MiniGlm.Tests
{
    internal static class TestProcess
    {
        /// As the CLI does at start-up: OpenMP must wait passively, chosen before libtorch loads.
        [System.Runtime.CompilerServices.ModuleInitializer]
        internal static void Init() => TorchRuntime.PassiveThreadWait();
    }
}
