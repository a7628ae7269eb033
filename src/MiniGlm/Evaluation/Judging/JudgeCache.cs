using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MiniGlm.Remote;

namespace MiniGlm.Evaluation.Judging;

/// Every reply the judge gave, keyed by (judge URL, judge model, prompt): a rerun of the same evaluation sends no
/// request. One JSON line per reply, appended and flushed as it arrives, so a Ctrl-C or a failing judge loses
/// nothing already answered; a line cut short by a crash is ignored when read. Failed requests are not cached.
public sealed class JudgeCache : IDisposable
{
    private sealed record Entry(string Key, string Text, string? Finish, int PromptTokens, int CompletionTokens);

    private readonly Dictionary<string, ChatReply> replies = [];
    private readonly FileStream stream;
    private readonly Lock gate = new();

    public JudgeCache(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
            foreach (var line in File.ReadLines(path))
            {
                Entry? e;
                try { e = JsonSerializer.Deserialize<Entry>(line); }
                catch (JsonException) { continue; }
                if (e is { Key: not null, Text: not null }) replies[e.Key] = new ChatReply(e.Text, e.Finish, e.PromptTokens, e.CompletionTokens);
            }
        stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        if (stream.Length > 0 && LastByte(path) != '\n') stream.WriteByte((byte)'\n'); // after a line cut short
    }

    public static string Key(string url, string model, string prompt) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{url}\n{model}\n{prompt}")));

    public bool TryGet(string key, out ChatReply reply)
    {
        lock (gate) return replies.TryGetValue(key, out reply!);
    }

    public void Add(string key, ChatReply reply)
    {
        var line = JsonSerializer.Serialize(new Entry(key, reply.Text, reply.FinishReason, reply.PromptTokens, reply.CompletionTokens)) + "\n";
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (gate)
        {
            stream.Write(bytes);
            stream.Flush();
            replies[key] = reply;
        }
    }

    private static int LastByte(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte();
    }

    public void Dispose() => stream.Dispose();
}
