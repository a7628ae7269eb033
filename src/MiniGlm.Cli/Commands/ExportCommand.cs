using System.Diagnostics;
using MiniGlm.Checkpoints;
using MiniGlm.Interop;
using MiniGlm.Interop.Gguf;
using MiniGlm.Interop.HuggingFace;
using MiniGlm.Interop.NanoGpt;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli.Commands;

/// `export --format F`: a checkpoint in another engine's format. Each format is one entry of Formats: it reads
/// its own options and writes --out (atomically; an existing --out only with --force).
public static class ExportCommand
{
    private sealed record Format(string Name, string Help, Action<CommandLine, string, string, bool> Run);

    private static readonly Format[] Formats =
    [
        new("gguf", "llama.cpp / Ollama / LM Studio: one .gguf file (--dtype f32|f16|q8_0, default f16)\n" +
                    "           and an Ollama NAME.Modelfile beside NAME.gguf", Gguf),
        new("hf", "a Hugging Face GPT2LMHeadModel (llama: LlamaForCausalLM, or Qwen2ForCausalLM with q/k/v biases)\n" +
                  "           directory: config.json, model.safetensors, generation_config.json,\n" +
                  "           tokenizer.json, tokenizer_config.json (transformers, vLLM, TGI)", HuggingFace),
        new("nanogpt", "PATH/ckpt.pt (or PATH itself if it ends in .pt) for nanoGPT's sample.py and\n" +
                       "           train.py --init_from=resume; a character-level model also gets meta.pkl beside it", NanoGpt),
    ];

    private static string Usage => $"""
        usage: ./miniglm export --ckpt DIR --format {string.Join("|", Formats.Select(f => f.Name))} --out PATH [--force] [format options]
          Writes a checkpoint in another tool's format (docs/formats.md).
          --ckpt DIR      a checkpoint, or a run directory (its best/, else latest/)
          --out PATH      what to write; an existing one is replaced only with --force, and a directory only if
                          it holds nothing but the files the export writes
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
        Console.WriteLine($"wrote {r.Path}: {r.Bytes / 1e6:F1} MB, {dtype}, {r.Tensors} tensors, llama.cpp {r.Architecture} with pre-tokenizer {r.PreTokenizer}, in {r.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"wrote {r.Modelfile}: for Ollama, `ollama create NAME -f {r.Modelfile}`");
    }

    private static void NanoGpt(CommandLine cl, string ckpt, string output, bool force) => Written(cl, ckpt, "nanogpt", dir =>
    {
        var path = output.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) ? output : Path.Combine(output, NanoGptCheckpoint.FileName);
        // Both files are checked before either is written: meta.pkl is replaced only with --force too.
        bool chars = CheckpointStore.ReadConfig(dir).Tokenizer.Type == TokenizerSpec.CharsType;
        var meta = chars ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "meta.pkl") : null;
        ModelFiles.EnsureFree(path, force);
        if (meta is not null) ModelFiles.EnsureFree(meta, force);
        var (model, config) = CheckpointStore.LoadModel(dir);
        using (model)
        {
            var gpt = model as Model.GptModel ?? throw new MiniGlmException($"{dir}: a {model.Config.Arch} model has no nanoGPT form (nanoGPT's model is gpt2); export it as hf or gguf");
            ModelFiles.WriteFile(path, tmp => NanoGptCheckpoint.Write(tmp, gpt, config, CheckpointStore.ReadState(dir)));
        }
        if (meta is null) return [path];
        ModelFiles.WriteFile(meta, tmp => NanoGptMeta.Write(tmp, config.Tokenizer.Chars!));
        return [path, meta];
    });

    private static void HuggingFace(CommandLine cl, string ckpt, string output, bool force) => Written(cl, ckpt, "hf", dir =>
    {
        ModelFiles.EnsureFreeDirectory(output, force);
        var (model, config) = CheckpointStore.LoadModel(dir);
        using (model) ModelFiles.WriteDirectory(output, tmp =>
        {
            if (model is Model.GptModel gpt) HfGpt2.Write(tmp, gpt, config);
            else HfLlama.Write(tmp, model, config);
        });
        return Directory.GetFiles(output).Order().ToList();
    });

    /// Runs an export that writes several files and says what it wrote.
    private static void Written(CommandLine cl, string ckpt, string format, Func<string, List<string>> export)
    {
        cl.RejectUnknown("export");
        var dir = CheckpointStore.Resolve(ckpt);
        var watch = Stopwatch.StartNew();
        var written = export(dir);
        long bytes = written.Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"exported {dir} as {format} in {watch.Elapsed.TotalSeconds:F1} s: " +
                          string.Join(", ", written.Select(f => $"{f} ({new FileInfo(f).Length / 1e6:F1} MB)")) + $"; {bytes / 1e6:F1} MB in all");
    }
}
