using System.Diagnostics;
using MiniGlm.Interop;
using MiniGlm.Interop.HuggingFace;
using MiniGlm.Interop.NanoGpt;

namespace MiniGlm.Cli.Commands;

public static class ImportCommand
{
    private const string Usage = """
        usage: ./miniglm import --from nanogpt|hf PATH --out DIR [--tokenizer T] [--force]
          Turns another tool's model into an ordinary checkpoint here (sample, chat, serve, eval, train --init_from=finetune):
          --from nanogpt PATH   a ckpt.pt written by nanoGPT's train.py (torch.compile'd or not)
          --from hf PATH        a Hugging Face GPT2LMHeadModel, LlamaForCausalLM or Qwen2ForCausalLM directory
                                (config.json + model.safetensors, or the shards of model.safetensors.index.json)
          --tokenizer T         gpt2 (default for nanogpt), a .tiktoken file, or nanoGPT's character-level meta.pkl;
                                for hf the default is the directory's tokenizer.json
          --out DIR             the checkpoint directory to write
          --force               replace DIR if it exists and holds nothing but a checkpoint's files
          Only tensors, storages and plain containers are read from a pickle; any other global is refused and
          nothing in it is run.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        // `--from nanogpt PATH`: the path may follow the format as the option's second value, or stand alone.
        var values = cl.Values("from").Concat(cl.Positionals).ToList();
        if (values.Count == 0) throw new MiniGlmException("missing --from (nanogpt or hf)");
        var from = values[0];
        var source = values.Count == 2 ? values[1]
            : throw new MiniGlmException($"import takes one file or directory to read after --from {from}, got {values.Count - 1}");
        var output = cl.Require("out", "the checkpoint directory to write");
        bool force = cl.Flag("force");
        var tokenizerArg = cl.Get("tokenizer");
        cl.RejectUnknown("import");
        ModelFiles.EnsureFreeDirectory(output, force);

        var watch = Stopwatch.StartNew();
        var (shape, notes) = from switch
        {
            "nanogpt" => NanoGpt(source, tokenizerArg, output),
            "hf" => HuggingFace(source, tokenizerArg, output),
            _ => throw new MiniGlmException($"--from expects nanogpt or hf, got '{from}'"),
        };
        var heads = shape.KvHeads == shape.NHead ? $"{shape.NHead} heads" : $"{shape.NHead} heads ({shape.KvHeads} key/value)";
        Console.WriteLine($"imported {source} ({shape.Arch}, {shape.NLayer} layers × {shape.NEmbd}, {heads}, block {shape.BlockSize}, " +
                          $"vocab {shape.VocabSize}) into {output} in {watch.Elapsed.TotalSeconds:F1} s");
        foreach (var note in notes) Console.Error.WriteLine($"note: {source}: {note}");
        return 0;
    }

    private static (Model.GptConfig, IReadOnlyList<string> Notes) NanoGpt(string path, string? tokenizerArg, string output)
    {
        var tokenizer = TokenizerArg.Load(tokenizerArg).Spec;
        using var foreign = NanoGptCheckpoint.Read(path);
        return (foreign.SaveCheckpoint(output, tokenizer, path), foreign.Notes);
    }

    private static (Model.GptConfig, IReadOnlyList<string> Notes) HuggingFace(string dir, string? tokenizerArg, string output)
    {
        if (!Directory.Exists(dir)) throw new MiniGlmException($"{dir}: no such directory (--from hf reads a model directory)");
        // A tokenizer that is not GPT-2's becomes a rank file, kept in a private directory until the checkpoint has its copy.
        var scratch = Directory.CreateTempSubdirectory("miniglm-import-").FullName;
        try
        {
            using var foreign = HfGpt2.Read(dir);
            var tokenizer = tokenizerArg is not null ? TokenizerArg.Load(tokenizerArg).Spec
                : HfTokenizer.Read(dir, scratch) ?? throw new MiniGlmException($"{dir}: no {HfTokenizer.JsonFile} or {HfTokenizer.VocabFile}; pass --tokenizer");
            return (foreign.SaveCheckpoint(output, tokenizer, dir), foreign.Notes);
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, true);
        }
    }
}
