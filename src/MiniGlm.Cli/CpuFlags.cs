namespace MiniGlm.Cli;

/// The CPU's model name and the instruction sets that decide decode and matmul speed, for printing beside
/// speed figures (Linux's /proc/cpuinfo; elsewhere only what .NET reports).
public static class CpuFlags
{
    private static readonly string[] Relevant = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"];

    public static string Describe()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return $"{Environment.ProcessorCount} cores, avx2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}";
        var lines = File.ReadLines(cpuinfo).Take(64).ToList();
        string Field(string name) => lines.FirstOrDefault(l => l.StartsWith(name))?.Split(':', 2)[1].Trim() ?? "";
        var flags = Field("flags").Split(' ').ToHashSet();
        return $"{Field("model name")}, {Environment.ProcessorCount} cores; flags: {string.Join(" ", Relevant.Where(flags.Contains))}";
    }
}
