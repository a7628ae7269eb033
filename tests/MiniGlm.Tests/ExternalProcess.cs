using System.Diagnostics;
using System.Text;

namespace MiniGlm.Tests;

/// Runs a program outside .NET (python3, node, npm, go) and collects what it prints; a missing program is exit -1.
public static class ExternalProcess
{
    public static (int Code, string Out, string Err) Run(string program, IEnumerable<string> args, string? workDir = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        if (workDir is not null) psi.WorkingDirectory = workDir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
            {
                p.Kill(entireProcessTree: true);
                return (-1, "", $"{program} timed out after {(timeout ?? TimeSpan.FromMinutes(10)).TotalMinutes:0} min");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, "", $"{program}: {e.Message}"); }
    }

    /// Debian's python3 (where python3-torch and python3-jinja2 install their modules).
    public static (int Code, string Out, string Err) Python(params string[] args) => Run("/usr/bin/python3", args);
}
