using Microsoft.Extensions.FileSystemGlobbing;

namespace MiniGlm.Data;

/// Expands prepare's --input arguments (files, directories, globs) into the ordered list of files to read.
public static class CorpusSources
{
    /// Each argument is a file, a directory (all *.txt below it, recursively) or a glob such as `novels/*.txt` or
    /// `books/**/*.txt`. Files are sorted by path within an argument, arguments keep their order, and a file named
    /// twice is read once, at its first place. Relative arguments are resolved against baseDirectory (default: cwd).
    public static List<string> Expand(IEnumerable<string> inputs, string? baseDirectory = null)
    {
        var baseDir = Path.GetFullPath(baseDirectory ?? Environment.CurrentDirectory);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (var input in inputs)
        {
            var matched = Match(input, baseDir);
            matched.Sort(StringComparer.Ordinal);
            files.AddRange(matched.Where(seen.Add));
        }
        return files;
    }

    private static List<string> Match(string input, string baseDir)
    {
        var full = Path.GetFullPath(input, baseDir);
        if (File.Exists(full)) return [full];
        if (Directory.Exists(full))
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, MatchCasing = MatchCasing.CaseInsensitive };
            var txt = Directory.EnumerateFiles(full, "*.txt", options).ToList();
            return txt.Count > 0 ? txt : throw new MiniGlmException($"{input}: directory has no *.txt files");
        }
        if (!input.Contains('*')) throw new MiniGlmException($"{input}: no such file or directory");

        // Glob: the leading segments without a wildcard are the directory to search, the rest is the pattern.
        var parts = input.Replace('\\', '/').Split('/');
        int firstWild = Array.FindIndex(parts, p => p.Contains('*'));
        var prefix = string.Join('/', parts[..firstWild]);
        var root = Path.GetFullPath(prefix.Length > 0 ? prefix : firstWild > 0 ? "/" : ".", baseDir);
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(string.Join('/', parts[firstWild..]));
        var hits = Directory.Exists(root) ? matcher.GetResultsInFullPath(root).Select(Path.GetFullPath).ToList() : [];
        return hits.Count > 0 ? hits : throw new MiniGlmException($"{input}: no files match");
    }
}
