using System.Text;
using MiniGlm.Generation;
using MiniGlm.IO;

namespace MiniGlm.Cli.Commands;

public static class SampleCommand
{
    private const string Usage = """
        usage: ./miniglm sample --ckpt DIR [--start TEXT | --start FILE:prompts.txt] [--num_samples N] [--save_path FILE]
          Continues each prompt num_samples times (one batch), streaming the text as it is generated.
          --ckpt DIR              a checkpoint, or a run directory (its best/, else latest/)
          --start TEXT            the prompt ("\n"); FILE:path reads one prompt per non-empty line
          --num_samples N         completions per prompt (10)
          --save_path FILE        also write the samples to FILE
        """;
    private const string Separator = "---------------";

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage + SamplingArgs.Help(new SamplingOptions())); return 0; }
        var ckpt = cl.Require("ckpt", "the checkpoint or run directory to sample from");
        var prompts = Prompts(cl.Get("start") ?? "\n");
        int numSamples = cl.Int("num_samples", 10, min: 1);
        var options = SamplingArgs.Read(cl);
        var savePath = cl.Get("save_path");
        var dtype = SamplingArgs.Dtype(cl);
        cl.RejectUnknown("sample");

        using var model = LoadedModel.Load(ckpt, dtype);
        using var shutdown = new Shutdown("stopping generation");
        var saved = new StringBuilder();
        foreach (var prompt in prompts)
        {
            var ids = model.Tokenizer.Encode(prompt);
            var outputs = Enumerable.Range(0, numSamples).Select(_ => new StringBuilder(prompt)).ToArray();
            // Stream the first sample live; the others of the batch are printed as they complete.
            Console.Write(prompt);
            foreach (var step in model.Generator.Generate(ids.Count > 0 ? ids : [model.Tokenizer.EotId], options, numSamples, cancel: shutdown.Token))
            {
                for (int i = 0; i < numSamples; i++) outputs[i].Append(step.Text[i]);
                Console.Write(step.Text[0]);
            }
            Console.WriteLine();
            Console.WriteLine(Separator);
            for (int i = 1; i < numSamples; i++)
            {
                Console.WriteLine(outputs[i]);
                Console.WriteLine(Separator);
            }
            foreach (var o in outputs) saved.Append(o).Append('\n').Append(Separator).Append('\n');
            if (shutdown.Token.IsCancellationRequested) break;
        }
        if (savePath is not null)
        {
            AtomicFile.WriteAllText(savePath, saved.ToString());
            Console.Error.WriteLine($"saved to {savePath}");
        }
        return 0;
    }

    private static List<string> Prompts(string start)
    {
        if (!start.StartsWith("FILE:")) return [start];
        var path = start[5..];
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: prompts file not found");
        List<string> lines;
        try { lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new MiniGlmException($"{path}: cannot read prompts file ({e.Message})"); }
        if (lines.Count == 0) throw new MiniGlmException($"{path}: no prompts in the file (one prompt per non-empty line)");
        return lines;
    }
}
