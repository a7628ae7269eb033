namespace MiniGlm.Training;

/// Deterministic seeds derived from (run seed, coordinates). HashCode.Combine is randomised per process, so it
/// would break resume; this is SplitMix64's finaliser, stable across processes and platforms.
public static class Seeds
{
    /// The random streams of a run, one per use: the numbers are part of every saved run's curve, so they never change.
    public enum Stream : long
    {
        PretrainTrain = 1, PretrainVal = 2, PretrainTrainEval = 3, Dropout = 4, SftTrain = 5, SftVal = 6, SftTrainEval = 7,
    }

    /// The seed of one draw of a stream: the same (seed, stream, coordinates) always gives the same number.
    public static int Derive(int seed, Stream stream, params long[] coordinates) => Derive(seed, [(long)stream, .. coordinates]);

    private static int Derive(int seed, long[] parts)
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
