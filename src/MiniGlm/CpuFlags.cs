namespace MiniGlm;

/// What the kernel reports about this CPU (/proc/cpuinfo on Linux; nothing elsewhere): its instruction-set flags,
/// for the choices that depend on them and for printing next to speed figures.
public static class CpuFlags
{
    /// The flags that make bf16 arithmetic native: AVX512-BF16 dot products or AMX tiles.
    public static readonly string[] NativeBf16 = ["avx512_bf16", "amx_bf16"];

    private static readonly Lazy<string> CpuInfo = new(() =>
    {
        try { return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/cpuinfo") : ""; }
        catch (IOException) { return ""; }
    });

    public static IReadOnlySet<string> All => Parse(CpuInfo.Value);

    /// The processor's name ("model name"), or null where unknown.
    public static string? ModelName => Field(CpuInfo.Value, "model name");

    /// The flags of the first processor in a /proc/cpuinfo text.
    public static IReadOnlySet<string> Parse(string cpuinfo) =>
        (Field(cpuinfo, "flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();

    private static string? Field(string cpuinfo, string name)
    {
        var line = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith(name) && l.Contains(':'));
        return line?[(line.IndexOf(':') + 1)..].Trim();
    }

    /// The native-bf16 flags this CPU has (none: bf16 arithmetic is emulated, slower than fp32).
    public static IReadOnlyList<string> Bf16 => NativeBf16.Where(All.Contains).ToList();

    /// The flags that matter for this project's speed, as printed with benchmark figures.
    public static string Summary()
    {
        var shown = new[] { "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8" }.Where(All.Contains).ToList();
        return shown.Count > 0 ? string.Join(" ", shown) : "unknown (no /proc/cpuinfo flags)";
    }

    /// The processor, its cores and Summary's flags, in one line.
    public static string Describe() => $"{ModelName ?? "unknown CPU"}, {Environment.ProcessorCount} cores; flags: {Summary()}";
}
