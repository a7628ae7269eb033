using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using MiniGlm.Generation;

namespace MiniGlm.Tests;

/// `dotnet pack` as a new user takes it in: the engine package from a local feed in a console project of its own
/// (docs/library.md's ten lines, built outside this repository, so nothing of ours but the package reaches it),
/// and the tool installed from the same feed. Slow (two Release builds and a 300 MB tool package): one test.
public class PackageTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    [Fact]
    public void The_packed_engine_runs_a_consumer_project_and_the_packed_tool_runs()
    {
        using var work = new TempDir();
        var version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
        string feed = work["feed"], build = work["build"];
        var ckpt = TinyCheckpoint.Create(work["ckpt"], ChatTemplate.Seed);

        // The engine package, and a project that knows only it (its own packages folder, our feed first).
        Dotnet(Root, "pack", "src/MiniGlm/MiniGlm.csproj", "-c", "Release", "-o", feed, "--artifacts-path", build, $"-p:Version={version}");
        var nupkg = Path.Combine(feed, $"MiniGlm.{version}.nupkg");
        Assert.True(File.Exists(nupkg), $"no {nupkg}");
        var hello = work["hello"];
        Directory.CreateDirectory(hello);
        File.WriteAllText(Path.Combine(hello, "hello.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RestorePackagesPath>{work["packages"]}</RestorePackagesPath>
                <RestoreFallbackFolders>{GlobalPackages()}</RestoreFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MiniGlm" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(hello, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(hello, "Program.cs"), TenLines());
        var built = Dotnet(hello, "build", "-c", "Release");
        Assert.DoesNotContain("ProjectReference", File.ReadAllText(Path.Combine(hello, "hello.csproj")));
        var dll = Path.Combine(hello, "bin", "Release", "net10.0", "hello.dll");
        var run = Dotnet(hello, dll, ckpt, "春眠不觉晓");
        Assert.False(string.IsNullOrWhiteSpace(run), "the consumer printed no answer");
        // Where the system's libstdc++ lacks GLIBCXX_3.4.32 (Debian 12), the package's build step patched the copy
        // that loaded; the run above is the proof that it loads.
        if (!SystemHas("GLIBCXX_3.4.32")) Assert.Contains("marked GLIBCXX_3.4.32 weak", built);

        // The tool, installed from the same feed into a directory of its own.
        Dotnet(Root, "pack", "src/MiniGlm.Cli/MiniGlm.Cli.csproj", "-c", "Release", "-o", feed, "--artifacts-path", build, $"-p:Version={version}");
        var tools = work["tools"];
        Dotnet(work.Path, "tool", "install", "MiniGlm.Cli", "--tool-path", tools, "--add-source", feed, "--version", version);
        var help = Run(Path.Combine(tools, "miniglm"), work.Path, "--help");
        Assert.Contains("quickstart", help);
        // A command that loads libtorch through the tool's own native libraries.
        var sample = Run(Path.Combine(tools, "miniglm"), work.Path, "sample", "--ckpt", ckpt, "--start", "床前", "--num_samples", "1", "--max_new_tokens", "5");
        Assert.Contains("床前", sample);
        // The quickstart's configs came along (it looks them up beside the program when the working directory has none).
        Assert.NotEmpty(Directory.GetFiles(tools, "quickstart_sft.json", SearchOption.AllDirectories));
    }

    /// The C# block of docs/library.md's "Ten lines" section, as a reader copies it.
    internal static string TenLines()
    {
        var doc = File.ReadAllText(Path.Combine(Root, "docs", "library.md"));
        var section = doc[doc.IndexOf("## Ten lines", StringComparison.Ordinal)..];
        var code = Regex.Match(section, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.True(code.Split('\n').Count(l => l.Trim().Length > 0) <= 10, $"the ten lines are more than ten:\n{code}");
        return code;
    }

    private static string GlobalPackages() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static bool SystemHas(string version) =>
        new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6" }.Where(File.Exists)
            .Any(f => Encoding.ASCII.GetString(File.ReadAllBytes(f)).Contains(version + "\0"));

    private static string Dotnet(string dir, params string[] args) => Run("dotnet", dir, args);

    /// Runs a program to its end (15 minutes at most) and returns its output; a failure fails the test with it.
    /// MSBuild's variables from the test run are not passed on: the child is a fresh build, as a user's would be.
    private static string Run(string program, string dir, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)}: no end within 15 minutes");
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {p.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }
}
