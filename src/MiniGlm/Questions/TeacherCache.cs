using System.Text;
using System.Text.Json;

namespace MiniGlm.Questions;

/// Every answer the teacher gave, one JSON line per question, appended and flushed as soon as it arrives: a
/// Ctrl-C or a crash loses nothing, and a rerun asks only what is missing. Each line is written with one write
/// call, so at worst the last line is cut short; such a line is ignored when read (and the question asked again).
/// Answers are kept per model: changing --model asks again.
public sealed class TeacherCache : IDisposable
{
    private sealed record Entry(string Question, string Answer, string Model);

    private readonly Dictionary<string, string> answers = [];
    private readonly FileStream stream;
    private readonly string model;
    private readonly Lock gate = new();

    public TeacherCache(string path, string model)
    {
        this.model = model;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
            foreach (var line in File.ReadLines(path))
            {
                Entry? e;
                try { e = JsonSerializer.Deserialize<Entry>(line); }
                catch (JsonException) { continue; } // a line cut short by a crash
                if (e is { Question: not null, Answer: not null } && e.Model == model) answers[e.Question] = e.Answer;
            }
        stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        // After a crash mid-line, start on a fresh line so the next entry is whole.
        if (stream.Length > 0 && LastByte(path) != '\n') stream.WriteByte((byte)'\n');
    }

    private static int LastByte(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte();
    }

    public int Count { get { lock (gate) return answers.Count; } }

    public bool TryGet(string question, out string answer)
    {
        lock (gate) return answers.TryGetValue(question, out answer!);
    }

    public void Add(string question, string answer)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Entry(question, answer, model), QaWriter.Json) + "\n");
        lock (gate)
        {
            stream.Write(bytes);
            stream.Flush();
            answers[question] = answer;
        }
    }

    public void Dispose() => stream.Dispose();
}
