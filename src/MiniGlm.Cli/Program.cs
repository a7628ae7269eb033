using MiniGlm.Cli.Commands;

namespace MiniGlm.Cli;

public static class Program
{
    private static readonly (string Name, string Summary, Func<CommandLine, int> Run)[] Commands =
    [
        ("quickstart", "from a fresh clone to a chatbot you trained: every stage below, then serve", QuickstartCommand.Run),
        ("data", "fetch a data set: data fetch chinese-poetry", DataCommand.Run),
        ("tokenizer", "train a byte-level BPE tokenizer on your text, or measure one: tokenizer train|stats", TokenizerCommand.Run),
        ("prepare", "tokenize .txt files into train.bin / val.bin / meta.json", PrepareCommand.Run),
        ("sft-data", "build question/answer JSON Lines: grounded in chinese-poetry, or templates + a teacher model", SftDataCommand.Run),
        ("prepare-sft", "turn question/answer JSON Lines into SFT rows with a loss mask", PrepareSftCommand.Run),
        ("train", "pretrain or fine-tune a GPT (config file and --key=value overrides)", TrainCommand.Run),
        ("plot", "draw the loss curves of one or more runs to loss.png and loss.svg", PlotCommand.Run),
        ("sample", "generate text from a checkpoint (sample.py)", SampleCommand.Run),
        ("chat", "chat with a checkpoint in the terminal", ChatCommand.Run),
        ("serve", "serve checkpoints: chat page, arena and an OpenAI-compatible API", ServeCommand.Run),
        ("bench", "benchmarks: bench train|generate|serve|llama.cpp", BenchCommand.Run),
        ("eval", "evaluate checkpoints side by side: val loss, QA metrics, report.md/html", EvalCommand.Run),
        ("export", "write a checkpoint for another tool: GGUF (llama.cpp, Ollama), nanoGPT ckpt.pt, Hugging Face GPT-2", ExportCommand.Run),
        ("import", "read a nanoGPT ckpt.pt or Hugging Face GPT-2 into a checkpoint here", ImportCommand.Run),
    ];

    /// Runs one command in this process (quickstart chains them); errors propagate to the caller.
    public static int Dispatch(string[] args)
    {
        var command = Commands.First(c => c.Name == args[0]);
        return command.Run(new CommandLine(args.Skip(1)));
    }

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine("usage: ./miniglm <command> [options]   (./miniglm <command> --help for its options)\n");
            foreach (var c in Commands) Console.WriteLine($"  {c.Name,-12} {c.Summary}");
            return args.Length == 0 ? 2 : 0;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command.Name is null)
        {
            Console.Error.WriteLine($"error: unknown command '{args[0]}' (commands: {string.Join(", ", Commands.Select(c => c.Name))})");
            return 2;
        }
        try
        {
            TorchRuntime.KeepFreedMemory();
            TorchRuntime.PassiveThreadWait();
            return Dispatch(args);
        }
        catch (MiniGlmException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MINIGLM_DEBUG") is null)
        {
            Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message.Split('\n')[0]} (set MINIGLM_DEBUG=1 for the stack trace)");
            return 70;
        }
    }
}
