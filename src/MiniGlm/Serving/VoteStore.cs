using System.Text;
using System.Text.Json;
using MiniGlm.IO;

namespace MiniGlm.Serving;

/// Arena votes in an append-only JSON Lines file. Each vote is one write of one whole line followed by an fsync,
/// so a vote the page saw acknowledged survives a crash or a restart; a line torn by a crash mid-write (the only
/// damage an append can suffer) is skipped on load.
public sealed class VoteStore
{
    private readonly object gate = new();
    private readonly List<ArenaVote> votes = [];

    public string Path { get; }

    public VoteStore(string path)
    {
        Path = path;
        if (!File.Exists(path)) return;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Trim().Length == 0) continue;
            try { if (JsonSerializer.Deserialize<ArenaVote>(line) is { } v) votes.Add(v); }
            catch (JsonException) { } // a torn last line from a crash
        }
    }

    public IReadOnlyList<ArenaVote> All() { lock (gate) return votes.ToList(); }

    public void Append(ArenaVote vote)
    {
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(vote) + "\n");
        lock (gate)
        {
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
            Directory.CreateDirectory(dir);
            bool created = !File.Exists(Path);
            using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                // A torn line left by a crash would swallow this one: start on a fresh line.
                if (file.Length > 0 && !EndsWithNewline()) file.Write("\n"u8);
                file.Write(line);
                file.Flush(flushToDisk: true);
            }
            if (created) AtomicFile.FlushDirectory(dir); // the new file's name must survive a crash too
            votes.Add(vote);
        }
    }

    private bool EndsWithNewline()
    {
        using var read = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        read.Seek(-1, SeekOrigin.End);
        return read.ReadByte() == '\n';
    }
}
