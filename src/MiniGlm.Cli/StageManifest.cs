using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Cli;

/// What a multi-stage run (quickstart) has started and finished: per stage, the command it ran, the SHA-256 of the
/// files it read that the command line does not name by content (config files) and of every file it produced. A
/// stage is done only if its command and inputs are unchanged and its outputs are all there with those hashes, so
/// a rerun skips finished work, redoes anything edited or deleted, and never trusts a file it did not see
/// completed; a started stage with the same command and inputs may be resumed.
public sealed class StageManifest
{
    public sealed record Stage
    {
        [JsonPropertyName("command")] public required string[] Command { get; init; }
        [JsonPropertyName("inputs")] public required Dictionary<string, string> Inputs { get; init; }
        [JsonPropertyName("outputs")] public Dictionary<string, string> Outputs { get; init; } = [];
        [JsonPropertyName("complete")] public bool Complete { get; init; }
        [JsonPropertyName("seconds")] public double Seconds { get; init; }
        [JsonPropertyName("finished")] public DateTimeOffset? Finished { get; init; }
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

    /// Started with this command and these inputs (finished or not).
    public bool IsStarted(string name, string[] command, string[] inputs) =>
        stages.TryGetValue(name, out var s) && s.Command.SequenceEqual(command) && Matches(s.Inputs, inputs);

    public bool IsDone(string name, string[] command, string[] inputs) =>
        IsStarted(name, command, inputs) && stages[name].Complete && Matches(stages[name].Outputs, stages[name].Outputs.Keys);

    public void MarkStarted(string name, string[] command, string[] inputs) =>
        Save(name, new Stage { Command = command, Inputs = inputs.ToDictionary(i => i, Sha256) });

    public void MarkDone(string name, string[] command, string[] inputs, IEnumerable<string> outputs, TimeSpan took)
    {
        var missing = outputs.Where(o => !File.Exists(o)).ToList();
        if (missing.Count > 0) throw new MiniGlmException($"stage {name} finished without writing {string.Join(", ", missing)}");
        Save(name, new Stage
        {
            Command = command, Inputs = inputs.ToDictionary(i => i, Sha256), Outputs = outputs.ToDictionary(o => o, Sha256),
            Complete = true, Seconds = Math.Round(took.TotalSeconds, 1), Finished = DateTimeOffset.UtcNow,
        });
    }

    private void Save(string name, Stage stage)
    {
        stages[name] = stage;
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(stages, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static bool Matches(Dictionary<string, string> recorded, IEnumerable<string> files) =>
        recorded.Keys.ToHashSet().SetEquals(files) && recorded.All(f => File.Exists(f.Key) && Sha256(f.Key) == f.Value);

    private static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
