using System.Text;
using System.Text.Json;
using MiniGlm.IO;

namespace MiniGlm.Corpora;

/// Turns the extracted chinese-poetry package into plain pretraining text: one work per block (title,
/// dynasty·author, text) with a blank line between works, one .txt file per source folder, and the authors'
/// biographies (name, then text) in authors.txt. Ranking, tonal pattern (strains), known-bad (error) and
/// duplicate (yudingquantangshi) folders are skipped.
public static class ChinesePoetryCorpus
{
    private static readonly HashSet<string> Skipped = ["rank", "strains", "error", "yudingquantangshi"];

    private static readonly Dictionary<string, string> Dynasty = new()
    {
        ["shijing"] = "先秦", ["chuci"] = "先秦", ["lunyu"] = "春秋", ["sishuwujing"] = "先秦", ["mengxue"] = "",
        ["songci"] = "宋", ["wudaishici"] = "五代", ["yuanqu"] = "元", ["nalanxingde"] = "清", ["caocaoshiji"] = "汉",
        ["youmengying"] = "清", ["shuimotangshi"] = "唐",
    };

    /// Writes DIR/&lt;source&gt;.txt for every source folder, converted to simplified Chinese when a converter is
    /// given, and DIR/corpus.json recording the conversion; returns the characters written per source.
    public static IReadOnlyDictionary<string, long> Write(string packageDir, string outDir, OpenCc? toSimplified = null)
    {
        var dist = Directory.Exists(Path.Combine(packageDir, "dist")) ? Path.Combine(packageDir, "dist") : packageDir;
        if (!Directory.Exists(dist)) throw new MiniGlmException($"{packageDir}: not found; run ./miniglm data fetch chinese-poetry first");
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var authors = new StringBuilder();
        void Save(string name, StringBuilder text)
        {
            if (text.Length == 0) return;
            var content = toSimplified is null ? text.ToString() : toSimplified.Convert(text.ToString());
            AtomicFile.WriteAllText(Path.Combine(outDir, name + ".txt"), content);
            counts[name] = content.Length;
        }
        foreach (var source in Directory.GetDirectories(dist).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            var text = new StringBuilder();
            foreach (var file in Directory.EnumerateFiles(Path.Combine(dist, source!), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                if (Path.GetRelativePath(dist, file).Split(Path.DirectorySeparatorChar).Any(Skipped.Contains)) continue;
                if (Path.GetFileName(file).StartsWith("author", StringComparison.Ordinal)) AppendAuthors(authors, file);
                else AppendWorks(text, file, source!);
            }
            Save(source!, text);
        }
        Save("authors", authors);
        if (counts.Count == 0) throw new MiniGlmException($"{dist}: no poetry JSON found (is this the chinese-poetry package?)");
        AtomicFile.WriteAllText(Path.Combine(outDir, "corpus.json"), JsonSerializer.Serialize(new
        {
            source = NpmPackage.ChinesePoetry.Spec,
            conversion = toSimplified is null ? "none (as in the package)" : $"traditional → simplified, OpenCC TSPhrases + TSCharacters from {OpenCc.Package.Spec}",
            characters = counts,
        }, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        return counts;
    }

    private static void AppendAuthors(StringBuilder text, string file)
    {
        foreach (var author in Objects(file))
        {
            var (name, bio) = (First(author, "name"), First(author, "desc", "description"));
            if (name.Length > 0 && bio.Length > 0) text.Append(name).Append('\n').Append(bio).Append("\n\n");
        }
    }

    private static List<JsonElement> Objects(string file)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(file)).RootElement; }
        catch (JsonException e) { throw new MiniGlmException($"{file}: not valid JSON ({e.Message})"); }
        return (root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root])
            .Where(w => w.ValueKind == JsonValueKind.Object).ToList();
    }

    private static void AppendWorks(StringBuilder text, string file, string source)
    {
        var works = Objects(file);
        string dynasty = Path.GetFileName(file).Contains(".tang.") ? "唐" : Path.GetFileName(file).Contains(".song.") ? "宋"
            : Dynasty.GetValueOrDefault(source, "");
        foreach (var work in works)
        {
            var body = Lines(work, "paragraphs", "para", "content");
            if (body.Count == 0) continue;
            var title = First(work, "title", "rhythmic", "chapter");
            var author = First(work, "author");
            if (title.Length > 0) text.Append(title).Append('\n');
            if (author.Length > 0) text.Append(dynasty.Length > 0 ? $"{dynasty}·{author}" : author).Append('\n');
            foreach (var line in body) text.Append(line).Append('\n');
            text.Append('\n');
        }
    }

    private static string First(JsonElement work, params string[] keys) =>
        keys.Select(k => work.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim() : "")
            .FirstOrDefault(s => s.Length > 0) ?? "";

    private static List<string> Lines(JsonElement work, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (!work.TryGetProperty(key, out var v)) continue;
            if (v.ValueKind == JsonValueKind.String) return [v.GetString()!.Trim()];
            if (v.ValueKind == JsonValueKind.Array)
                return v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!.Trim())
                    .Where(x => x.Length > 0).ToList();
        }
        return [];
    }
}
