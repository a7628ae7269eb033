using MiniGlm.Corpora;

namespace MiniGlm.Cli.Commands;

public static class DataCommand
{
    private const string Usage = """
        usage: ./miniglm data fetch chinese-poetry [--out data/raw/chinese-poetry] [--tarball FILE]
          Fetches the npm package chinese-poetry@2.0.1 with `npm pack`, checks its sha512 integrity, and extracts
          it. A second run does nothing. Without npm or a network, download the tarball yourself and give --tarball.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.Count < 2 || cl.Positionals[0] != "fetch")
        {
            Console.WriteLine(Usage);
            return cl.Has("help") ? 0 : 2;
        }
        if (cl.Positionals[1] != "chinese-poetry")
            throw new MiniGlmException($"data fetch: unknown data set '{cl.Positionals[1]}' (known: chinese-poetry)");
        var package = NpmPackage.ChinesePoetry;
        var dir = cl.Get("out") ?? Path.Combine("data", "raw", "chinese-poetry");
        var tarball = cl.Get("tarball");
        cl.RejectUnknown("data");
        if (!package.IsFetched(dir)) Console.WriteLine($"fetching {package.Spec}…");
        Console.WriteLine(package.Fetch(dir, tarball) ? $"{package.Spec} verified and extracted to {dir}" : $"{dir} already holds {package.Spec}");
        return 0;
    }
}
