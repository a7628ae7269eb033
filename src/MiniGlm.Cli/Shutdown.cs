using System.Runtime.InteropServices;

namespace MiniGlm.Cli;

/// Turns Ctrl-C and SIGTERM into a cancellation the engine honours at its next safe point (for training: save a
/// checkpoint, then exit). A second Ctrl-C exits at once.
public sealed class Shutdown : IDisposable
{
    private readonly CancellationTokenSource cts = new();
    private readonly PosixSignalRegistration term;
    private int presses;

    public Shutdown(string onFirst)
    {
        Console.CancelKeyPress += OnCancel;
        term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Request(onFirst); });
        void OnCancel(object? s, ConsoleCancelEventArgs e) { e.Cancel = true; Request(onFirst); }
    }

    public CancellationToken Token => cts.Token;

    private void Request(string message)
    {
        if (Interlocked.Increment(ref presses) > 1) Environment.Exit(130);
        Console.Error.WriteLine(message);
        cts.Cancel();
    }

    public void Dispose() { term.Dispose(); cts.Dispose(); }
}
