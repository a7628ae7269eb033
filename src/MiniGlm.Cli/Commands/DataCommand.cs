using MiniGlm.Corpora;

namespace MiniGlm.Cli.Commands;

public static class DataCommand
{
    private const string Usage = """
        usage: ./miniglm data fetch chinese-poetry [--out data/raw/chinese-poetry] [--tarball FILE]
          Fetches the npm package chinese-poetry@2.0.1 with `npm pack`, checks its sha512 integrity, and extracts
          it. A second run does nothing. Without npm or a network, download the tarball yourself and give --tarball.
        usage: ./miniglm data fetch opencc [--out data/raw/opencc-js] [--tarball FILE]
          Fetches OpenCC's dictionaries (npm opencc-js@1.4.2) the same way, for traditional → simplified conversion.
        usage: ./miniglm data corpus chinese-poetry [--from data/raw/chinese-poetry] --out data/raw/poetry-text [--keep_traditional]
          Writes one .txt per source (title, dynasty·author, text; a blank line between works) for ./miniglm prepare,
          converted to simplified Chinese with OpenCC (fetched first if needed) unless --keep_traditional.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.Count < 2 || cl.Positionals[0] is not ("fetch" or "corpus"))
        {
            Console.WriteLine(Usage);
            return cl.Has("help") ? 0 : 2;
        }
        if (cl.Positionals[0] == "corpus")
            return cl.Positionals[1] == "chinese-poetry" ? Corpus(cl)
                : throw new MiniGlmException($"data corpus: unknown data set '{cl.Positionals[1]}' (known: chinese-poetry)");
        var (package, dir) = cl.Positionals[1] switch
        {
            "chinese-poetry" => (NpmPackage.ChinesePoetry, PoetryDir),
            "opencc" => (OpenCc.Package, OpenCcDir),
            var other => throw new MiniGlmException($"data fetch: unknown data set '{other}' (known: chinese-poetry, opencc)"),
        };
        dir = cl.Get("out") ?? dir;
        var tarball = cl.Get("tarball");
        cl.RejectUnknown("data");
        if (!package.IsFetched(dir)) Console.WriteLine($"fetching {package.Spec}…");
        Console.WriteLine(package.Fetch(dir, tarball) ? $"{package.Spec} verified and extracted to {dir}" : $"{dir} already holds {package.Spec}");
        return 0;
    }

    internal static readonly string PoetryDir = Path.Combine("data", "raw", "chinese-poetry");
    private static readonly string OpenCcDir = Path.Combine("data", "raw", "opencc-js");

    /// OpenCC's traditional → simplified converter, fetching its dictionaries first if needed.
    internal static OpenCc ToSimplified()
    {
        if (OpenCc.Package.Fetch(OpenCcDir)) Console.WriteLine($"fetched {OpenCc.Package.Spec} into {OpenCcDir}");
        return OpenCc.LoadTraditionalToSimplified(OpenCcDir);
    }

    private static int Corpus(CommandLine cl)
    {
        var from = cl.Get("from") ?? PoetryDir;
        var outDir = cl.Require("out", "the directory for the text files, e.g. data/raw/poetry-text");
        bool keep = cl.Flag("keep_traditional");
        cl.RejectUnknown("data");
        var converter = keep ? null : ToSimplified();
        var counts = ChinesePoetryCorpus.Write(from, outDir, converter);
        foreach (var (source, chars) in counts) Console.WriteLine($"{source,-16} {chars,12:N0} characters");
        Console.WriteLine($"{"total",-16} {counts.Values.Sum(),12:N0} characters in {counts.Count} files under {outDir}" +
                          (keep ? " (as in the package: mostly traditional)" : " (converted to simplified)"));
        return 0;
    }
}
