using MiniGlm.Interop.Gguf;

namespace MiniGlm.Cli.Commands;

/// `export --format F`: a checkpoint in another engine's format. Each format is one entry of Formats: it reads
/// its own options and writes --out (atomically; an existing --out only with --force).
public static class ExportCommand
{
    private sealed record Format(string Name, string Help, Action<CommandLine, string, string, bool> Run);

    private static readonly Format[] Formats =
    [
        new("gguf", "llama.cpp / Ollama / LM Studio: one .gguf file (--dtype f32|f16|q8_0, default f16)", Gguf),
    ];

    private static string Usage => $"""
        usage: ./miniglm export --ckpt DIR --format {string.Join("|", Formats.Select(f => f.Name))} --out PATH [--force] [format options]
          --ckpt DIR      a checkpoint, or a run directory (its best/, else latest/)
          --out PATH      what to write; an existing one is replaced only with --force
        formats:
        {string.Join("\n", Formats.Select(f => $"  {f.Name,-8} {f.Help}"))}
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        var name = cl.Require("format", string.Join("|", Formats.Select(f => f.Name)));
        var format = Formats.FirstOrDefault(f => f.Name == name)
            ?? throw new MiniGlmException($"--format must be one of {string.Join(", ", Formats.Select(f => f.Name))}, got '{name}'");
        var ckpt = cl.Require("ckpt", "the checkpoint or run directory to export");
        var outPath = cl.Require("out", "the file or directory to write");
        format.Run(cl, ckpt, outPath, cl.Flag("force"));
        return 0;
    }

    private static void Gguf(CommandLine cl, string ckpt, string outPath, bool force)
    {
        var dtype = GgufFileType.Parse(cl.Get("dtype") ?? GgufFileType.F16.Name);
        cl.RejectUnknown("export");
        var r = GgufExport.Run(ckpt, outPath, dtype, force);
        Console.WriteLine($"wrote {r.Path}: {r.Bytes / 1e6:F1} MB, {dtype}, {r.Tensors} tensors, llama.cpp gpt2 with pre-tokenizer {r.PreTokenizer}, in {r.Elapsed.TotalSeconds:F1} s");
    }
}
