using System.Diagnostics;
using MiniGlm.Checkpoints;
using MiniGlm.Interop;
using MiniGlm.Interop.HuggingFace;
using MiniGlm.Interop.NanoGpt;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli.Commands;

public static class ExportCommand
{
    private const string Usage = """
        usage: ./miniglm export --ckpt DIR --format nanogpt|hf --out PATH [--force]
          Writes a checkpoint in another tool's format (docs/formats.md):
          --format nanogpt   PATH/ckpt.pt (or PATH itself if it ends in .pt) for nanoGPT's sample.py and
                             train.py --init_from=resume; a character-level model also gets meta.pkl beside it
          --format hf        a Hugging Face GPT2LMHeadModel directory: config.json, model.safetensors,
                             generation_config.json, tokenizer.json, tokenizer_config.json (transformers, vLLM, TGI)
          --force            replace PATH if it exists
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        var ckpt = CheckpointStore.Resolve(cl.Require("ckpt", "the checkpoint or run directory to export"));
        var format = cl.Require("format", "nanogpt or hf");
        var output = cl.Require("out", "where to write the export");
        bool force = cl.Flag("force");
        cl.RejectUnknown("export");

        var watch = Stopwatch.StartNew();
        var written = format switch
        {
            "nanogpt" => NanoGpt(ckpt, output, force),
            "hf" => HuggingFace(ckpt, output, force),
            _ => throw new MiniGlmException($"--format expects nanogpt or hf, got '{format}'"),
        };
        long bytes = written.Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"exported {ckpt} as {format} in {watch.Elapsed.TotalSeconds:F1} s: " +
                          string.Join(", ", written.Select(f => $"{f} ({new FileInfo(f).Length / 1e6:F1} MB)")) + $"; {bytes / 1e6:F1} MB in all");
        return 0;
    }

    private static List<string> NanoGpt(string ckpt, string output, bool force)
    {
        var path = output.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) ? output : Path.Combine(output, NanoGptCheckpoint.FileName);
        ModelFiles.EnsureFree(path, force);
        var (model, config) = CheckpointStore.LoadModel(ckpt);
        using (model) ModelFiles.WriteFile(path, tmp => NanoGptCheckpoint.Write(tmp, model, config, CheckpointStore.ReadState(ckpt)));
        if (config.Tokenizer.Type != TokenizerSpec.CharsType) return [path];
        var meta = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "meta.pkl");
        ModelFiles.WriteFile(meta, tmp => NanoGptMeta.Write(tmp, config.Tokenizer.Chars!));
        return [path, meta];
    }

    private static List<string> HuggingFace(string ckpt, string output, bool force)
    {
        ModelFiles.EnsureFree(output, force);
        var (model, config) = CheckpointStore.LoadModel(ckpt);
        using (model) ModelFiles.WriteDirectory(output, tmp => HfGpt2.Write(tmp, model, config));
        return Directory.GetFiles(output).Order().ToList();
    }
}
