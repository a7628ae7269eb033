global using Xunit;

// TorchSharp's thread count, seed and default dtype are process-wide: tensor tests must not run in parallel.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
