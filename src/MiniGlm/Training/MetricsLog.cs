using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Training;

/// One line of metrics.jsonl. Split is "train" for the loss of a logged step, "val" and "train_eval" for the
/// estimates made every eval_interval over eval_iters batches.
public sealed record MetricsRecord
{
    [JsonPropertyName("iter")] public int Iter { get; init; }
    [JsonPropertyName("split")] public string Split { get; init; } = "train";
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("lr")] public double? LearningRate { get; init; }
    [JsonPropertyName("tokens_per_sec")] public double? TokensPerSec { get; init; }
    [JsonPropertyName("mfu")] public double? Mfu { get; init; }
    [JsonPropertyName("elapsed")] public double Elapsed { get; init; }
}

/// The run's metrics.jsonl: appended one flushed line at a time, so a killed run keeps every record it wrote.
/// On resume, records past the checkpoint's iteration (written after it was saved) are dropped first.
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly StreamWriter writer;

    public MetricsLog(string runDir, int resumeFromIter)
    {
        var path = Path.Combine(runDir, FileName);
        if (resumeFromIter > 0 && File.Exists(path))
        {
            var kept = Read(path).Where(r => r.Iter <= resumeFromIter);
            AtomicFile.WriteAllText(path, string.Concat(kept.Select(r => JsonSerializer.Serialize(r, Json) + "\n")));
        }
        else if (File.Exists(path)) File.Delete(path);
        writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public void Append(MetricsRecord record) => writer.WriteLine(JsonSerializer.Serialize(record, Json));

    /// Reads a metrics file; a torn last line (from a kill mid-write) is skipped.
    public static List<MetricsRecord> Read(string path)
    {
        var records = new List<MetricsRecord>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { records.Add(JsonSerializer.Deserialize<MetricsRecord>(line, Json)!); }
            catch (JsonException) { }
        }
        return records;
    }

    public void Dispose() => writer.Dispose();
}
