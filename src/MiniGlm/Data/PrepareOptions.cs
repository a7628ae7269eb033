namespace MiniGlm.Data;

/// The `prepare` stage's settings (its command-line options).
public sealed record PrepareOptions
{
    /// Files, directories (all *.txt below them) and globs (`novels/*.txt`, `books/**/*.txt`).
    public required IReadOnlyList<string> Inputs { get; init; }
    /// Directory to write train.bin, val.bin and meta.json into.
    public required string OutDir { get; init; }
    /// The last fraction of the text's characters that becomes val.bin; in [0, 1).
    public double ValFraction { get; init; } = 0.1;
    /// Substitute U+FFFD for invalid UTF-8 instead of failing.
    public bool ReplaceInvalid { get; init; }
    /// Threads that encode chunks.
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// Characters per encoding chunk (tests shrink it to force many cuts); up to 4 chunks per thread are in
    /// flight. Small enough that even a 10 MB corpus spreads evenly over the cores.
    internal int ChunkChars { get; init; } = 1 << 18;
    /// Bytes per read block (tests shrink it to put CRs and UTF-8 sequences on block boundaries).
    internal int BlockBytes { get; init; } = Utf8TextReader.DefaultBlockBytes;
}

public enum PreparePhase { Scan, Encode }

/// Progress of prepare. Scan is pass 1 (validate, count, hash), Encode is pass 2 (tokenise and write); each
/// goes over all input bytes once. A report with a Warning is meant to be shown to the user.
public sealed record PrepareProgress(PreparePhase Phase, long BytesDone, long BytesTotal, double Seconds, string? Warning = null)
{
    public double MBPerSecond => Seconds > 0 ? BytesDone / 1e6 / Seconds : 0;
    public double Fraction => BytesTotal > 0 ? (double)BytesDone / BytesTotal : 1;
}

/// What prepare made, and how fast (Bytes is the input size, read once per pass).
public sealed record PrepareResult(DatasetMeta Meta, long Bytes, double Seconds, IReadOnlyList<string> Warnings)
{
    public double MBPerSecond => Seconds > 0 ? Bytes / 1e6 / Seconds : 0;
}
