using System.Diagnostics;

namespace MiniGlm.Cli;

/// This command line started again as a child process, for work that must not share this process (its threads, its
/// native runtime): `dotnet MiniGlm.Cli.dll …` as ./miniglm runs it, or the app host when that is what runs us.
public static class CliProcess
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var dll = typeof(CliProcess).Assembly.Location;
        var host = Environment.ProcessPath!;
        bool appHost = Path.GetFileNameWithoutExtension(host) == Path.GetFileNameWithoutExtension(dll);
        // Under a test runner the process is the runner's, not dotnet: the CLI's dll still runs with dotnet.
        var start = new ProcessStartInfo(appHost || Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (!appHost) start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }
}
