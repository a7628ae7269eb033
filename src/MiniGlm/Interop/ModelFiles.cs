using MiniGlm.IO;
namespace MiniGlm.Interop;

/// Where an import or export writes: refused if it exists (unless forced), written under a temporary name beside
/// it and renamed into place, so a failure (a full disk) leaves nothing half written where the output should be.
public static class ModelFiles
{
    public static void EnsureFree(string path, bool force)
    {
        if (!force && (File.Exists(path) || Directory.Exists(path)))
            throw new MiniGlmException($"{path} already exists; pass --force to replace it");
    }

    /// Writes one file through <see cref="AtomicFile"/>.
    public static void WriteFile(string path, Action<string> write) => Guard(path, () => AtomicFile.Write(path, write));

    /// Fills a temporary directory beside dir, then puts it in dir's place (replacing what was there).
    public static void WriteDirectory(string dir, Action<string> fill) => Guard(dir, () =>
    {
        var full = Path.GetFullPath(dir);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = AtomicFile.TempPath(full);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            var old = full + ".old";
            if (Directory.Exists(old)) Directory.Delete(old, true);
            if (Directory.Exists(full)) Directory.Move(full, old);
            else if (File.Exists(full)) File.Delete(full);
            Directory.Move(tmp, full);
            if (Directory.Exists(old)) Directory.Delete(old, true);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        }
    });

    /// Runs a write that is atomic itself (CheckpointStore.Save), turning an I/O failure into a one-line error.
    public static void Guard(string path, Action write)
    {
        try { write(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MiniGlmException($"{path}: could not be written ({e.Message.TrimEnd('.')}); nothing was left there", e);
        }
    }
}
