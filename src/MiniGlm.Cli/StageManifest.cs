using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MiniGlm.Cli;

/// What a multi-stage run (quickstart) has finished: per stage, the command it ran and the SHA-256 of every file
/// it produced. A stage is done only if its command is unchanged and its files are all there with those hashes,
/// so a rerun skips finished work, redoes anything interrupted, edited or deleted, and never trusts a file it did
/// not see completed.
public sealed class StageManifest
{
    public sealed record Stage
    {
        [JsonPropertyName("command")] public required string[] Command { get; init; }
        [JsonPropertyName("outputs")] public required Dictionary<string, string> Outputs { get; init; }
        [JsonPropertyName("seconds")] public double Seconds { get; init; }
        [JsonPropertyName("finished")] public DateTimeOffset Finished { get; init; }
    }

    private readonly string path;
    private readonly Dictionary<string, Stage> stages;

    private StageManifest(string path, Dictionary<string, Stage> stages) => (this.path, this.stages) = (path, stages);

    public static StageManifest Load(string path)
    {
        if (!File.Exists(path)) return new StageManifest(path, []);
        try { return new StageManifest(path, JsonSerializer.Deserialize<Dictionary<string, Stage>>(File.ReadAllText(path)) ?? []); }
        catch (JsonException e) { throw new MiniGlmException($"{path}: not a stage manifest ({e.Message.Split('\n')[0]}); delete it to start over"); }
    }

    public bool IsDone(string name, string[] command) =>
        stages.TryGetValue(name, out var s) && s.Command.SequenceEqual(command)
        && s.Outputs.All(o => File.Exists(o.Key) && Sha256(o.Key) == o.Value);

    public void MarkDone(string name, string[] command, IEnumerable<string> outputs, TimeSpan took)
    {
        var missing = outputs.Where(o => !File.Exists(o)).ToList();
        if (missing.Count > 0) throw new MiniGlmException($"stage {name} finished without writing {string.Join(", ", missing)}");
        stages[name] = new Stage
        {
            Command = command, Outputs = outputs.ToDictionary(o => o, Sha256), Seconds = Math.Round(took.TotalSeconds, 1),
            Finished = DateTimeOffset.UtcNow,
        };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(stages, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// The command a stage was recorded with, or null if it has no record.
    public string[]? CommandOf(string name) => stages.TryGetValue(name, out var s) ? s.Command : null;

    private static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
