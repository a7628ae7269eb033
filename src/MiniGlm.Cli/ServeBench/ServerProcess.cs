using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MiniGlm.Cli.ServeBench;

/// `serve` in a process of its own on a free loopback port (port 0: the system picks one, so no other server can
/// take it between a probe and the start), for `bench serve --ckpt`: the server's threads and the load client's
/// stay apart, as when users run serve. Disposing stops it.
public sealed partial class ServerProcess : IDisposable
{
    private readonly Process process;

    public Uri Address { get; }

    private ServerProcess(Process process, Uri address) => (this.process, Address) = (process, address);

    /// Starts `serve --ckpt DIR` and waits until it listens (it prints its address then); a server that stops or
    /// stays silent for <paramref name="timeout"/> is an error naming what it last wrote to stderr.
    public static ServerProcess Start(string ckpt, string dtype, int queue, TimeSpan timeout)
    {
        var process = Process.Start(CliProcess.StartInfo(
            ["serve", "--ckpt", ckpt, "--host", "127.0.0.1", "--port", "0", "--queue", $"{queue}", "--dtype", dtype]))!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new Queue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && Serving().Match(e.Data) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) { stderr.Enqueue(e.Data); if (stderr.Count > 5) stderr.Dequeue(); }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        Task.WaitAny(listening.Task, exited, Task.Delay(timeout));
        if (listening.Task.IsCompletedSuccessfully) return new ServerProcess(process, listening.Task.Result);

        bool stopped = exited.IsCompleted;
        if (!stopped) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        string said;
        lock (stderr) said = stderr.LastOrDefault(l => l.Trim().Length > 0)?.Trim().Replace("error: ", "") ?? "nothing on stderr";
        process.Dispose();
        throw new MiniGlmException(stopped
            ? $"serve --ckpt {ckpt} stopped before it listened: {said}"
            : $"serve --ckpt {ckpt} was not listening after {timeout.TotalSeconds:F0} s (last said: {said})");
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        process.Dispose();
    }

    /// ServeCommand's line once the server listens: `serving on http://127.0.0.1:PORT/ …`.
    [GeneratedRegex(@"^serving on (\S+)")]
    private static partial Regex Serving();
}
