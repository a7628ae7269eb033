using MiniGlm.IO;
namespace MiniGlm.Interop;

/// Where an import or export writes. An existing output is replaced only with --force, and then only by what this
/// write produces: a file by the file of that name, a directory only if everything in it is a file the new output
/// has too (never `--out .` or a folder of other things). Outputs are written under a temporary name beside their
/// destination, flushed and renamed into place, so a failure (a full disk) leaves nothing half written there.
public static class ModelFiles
{
    /// Checks a file output before any work: refused if it exists (unless forced) or is a directory.
    public static void EnsureFree(string path, bool force)
    {
        if (Directory.Exists(path)) throw new MiniGlmException($"{path} is a directory; name the file to write");
        if (!force && File.Exists(path)) throw new MiniGlmException($"{path} already exists; pass --force to replace it");
    }

    /// Checks a directory output before any work. With --force an existing one must still be a directory without
    /// subdirectories that does not hold the current directory; <see cref="WriteDirectory"/> checks its files.
    public static void EnsureFreeDirectory(string dir, bool force)
    {
        if (!File.Exists(dir) && !Directory.Exists(dir)) return;
        if (!force) throw new MiniGlmException($"{dir} already exists; pass --force to replace it");
        if (File.Exists(dir)) throw new MiniGlmException($"{dir} is a file, not a model directory; --force replaces only a model directory");
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var here = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Environment.CurrentDirectory));
        if (here == full || here.StartsWith(full + Path.DirectorySeparatorChar))
            throw new MiniGlmException($"{dir} holds the current directory; --force replaces only a model directory, name one elsewhere");
        if (Directory.EnumerateDirectories(dir).FirstOrDefault() is { } sub)
            throw new MiniGlmException($"{dir} holds a folder '{Path.GetFileName(sub)}'; --force replaces only a model directory (files only): nothing was changed");
    }

    /// Writes one file through <see cref="AtomicFile"/>.
    public static void WriteFile(string path, Action<string> write) => Guard(path, () => AtomicFile.Write(path, write));

    /// Fills a temporary directory beside dir, then puts it in dir's place. An existing dir (checked by
    /// <see cref="EnsureFreeDirectory"/>) is replaced only if each of its entries is a file the new one has too;
    /// otherwise nothing there changes. The old copy steps aside under a private name, never `dir.old`.
    public static void WriteDirectory(string dir, Action<string> fill) => Guard(dir, () =>
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = AtomicFile.TempPath(full);
        var aside = tmp + "-replaced";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            foreach (var file in Directory.EnumerateFiles(tmp)) AtomicFile.Flush(file);
            AtomicFile.FlushDirectory(tmp);
            if (Directory.Exists(full))
            {
                var written = Directory.EnumerateFileSystemEntries(tmp).Select(Path.GetFileName).ToHashSet();
                if (Directory.EnumerateFileSystemEntries(full).FirstOrDefault(e => Directory.Exists(e) || !written.Contains(Path.GetFileName(e))) is { } other)
                    throw new MiniGlmException($"{dir} holds '{Path.GetFileName(other)}', which this output does not have; --force replaces only " +
                                               "a directory of the same files: nothing was changed");
                Directory.Move(full, aside);
                AtomicFile.FlushDirectory(parent);
            }
            Directory.Move(tmp, full);
            AtomicFile.FlushDirectory(parent);
            if (Directory.Exists(aside)) Directory.Delete(aside, true);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
    });

    /// Runs a write that is atomic itself, turning an I/O failure into a one-line error.
    private static void Guard(string path, Action write)
    {
        try { write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MiniGlmException($"{path}: could not be written ({e.Message.TrimEnd('.')}); nothing was left there", e);
        }
    }
}
