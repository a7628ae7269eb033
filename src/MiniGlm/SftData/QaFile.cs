using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MiniGlm.SftData;

/// Reads and writes QA JSON Lines (`{"Question","Answer","Type","Key"}`), Chinese left readable, written atomically.
public static class QaFile
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Write(string path, IEnumerable<QaItem> items) => AtomicFile.Write(path, tmp =>
    {
        using var w = new StreamWriter(tmp, false, new System.Text.UTF8Encoding(false));
        foreach (var item in items) w.Write(JsonSerializer.Serialize(item, Json) + "\n");
    });

    public static List<QaItem> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<QaItem>(l, Json)!).ToList();
}
