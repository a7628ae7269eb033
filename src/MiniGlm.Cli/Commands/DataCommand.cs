using MiniGlm.Corpora;

namespace MiniGlm.Cli.Commands;

public static class DataCommand
{
    private const string Usage = """
        usage: ./miniglm data fetch chinese-poetry [--out data/raw/chinese-poetry] [--tarball FILE]
          Fetches the npm package chinese-poetry@2.0.1 with `npm pack`, checks its sha512 integrity, and extracts
          it. A second run does nothing. Without npm or a network, download the tarball yourself and give --tarball.
        usage: ./miniglm data corpus chinese-poetry [--from data/raw/chinese-poetry] --out data/raw/poetry-text
          Writes one .txt per source (title, dynasty·author, text; a blank line between works) for ./miniglm prepare.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.Count < 2 || cl.Positionals[0] is not ("fetch" or "corpus"))
        {
            Console.WriteLine(Usage);
            return cl.Has("help") ? 0 : 2;
        }
        if (cl.Positionals[1] != "chinese-poetry")
            throw new MiniGlmException($"data fetch: unknown data set '{cl.Positionals[1]}' (known: chinese-poetry)");
        var package = NpmPackage.ChinesePoetry;
        if (cl.Positionals[0] == "corpus") return Corpus(cl);
        var dir = cl.Get("out") ?? Path.Combine("data", "raw", "chinese-poetry");
        var tarball = cl.Get("tarball");
        cl.RejectUnknown("data");
        if (!package.IsFetched(dir)) Console.WriteLine($"fetching {package.Spec}…");
        Console.WriteLine(package.Fetch(dir, tarball) ? $"{package.Spec} verified and extracted to {dir}" : $"{dir} already holds {package.Spec}");
        return 0;
    }

    private static int Corpus(CommandLine cl)
    {
        var from = cl.Get("from") ?? Path.Combine("data", "raw", "chinese-poetry");
        var outDir = cl.Require("out", "the directory for the text files, e.g. data/raw/poetry-text");
        cl.RejectUnknown("data");
        var counts = ChinesePoetryCorpus.Write(from, outDir);
        foreach (var (source, chars) in counts) Console.WriteLine($"{source,-16} {chars,12:N0} characters");
        Console.WriteLine($"{"total",-16} {counts.Values.Sum(),12:N0} characters in {counts.Count} files under {outDir}");
        return 0;
    }
}
