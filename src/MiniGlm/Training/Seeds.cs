namespace MiniGlm.Training;

/// Deterministic seeds derived from (run seed, coordinates). HashCode.Combine is randomised per process, so it
/// would break resume; this is SplitMix64's finaliser, stable across processes and platforms.
public static class Seeds
{
    public static int Derive(int seed, params long[] parts)
    {
        ulong h = (ulong)seed;
        foreach (var p in parts)
        {
            h += 0x9E3779B97F4A7C15UL + (ulong)p;
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}
