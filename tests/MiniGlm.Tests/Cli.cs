using MiniGlm.Cli;

namespace MiniGlm.Tests;

/// Runs the real command line in-process and captures what it prints.
public static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(TextReader.Null, args);

    /// Runs with <paramref name="input"/> as standard input (for chat).
    public static (int Code, string Out, string Err) Run(TextReader input, params string[] args)
    {
        var (i, o, e) = (Console.In, Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetIn(input); Console.SetOut(stdout); Console.SetError(stderr);
        try { return (Program.Main(args), stdout.ToString(), stderr.ToString()); }
        finally { Console.SetIn(i); Console.SetOut(o); Console.SetError(e); }
    }
}
