using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MiniGlm.IO;

/// Every file the tool writes goes through here: written beside its destination under a temporary name, flushed to
/// disk, then renamed into place and the directory flushed, so a crash, even of the OS or the power, leaves either
/// the old file or the new one, never half of one.
public static partial class AtomicFile
{
    public static string TempPath(string path) => $"{path}.tmp-{Environment.ProcessId}";

    public static void Write(string path, Action<string> writeTo)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = TempPath(path);
        try
        {
            writeTo(tmp);
            Flush(tmp);
            File.Move(tmp, path, overwrite: true);
            FlushDirectory(dir);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    /// Makes a written file's bytes durable (fsync).
    public static void Flush(string file)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(handle);
    }

    /// Makes a directory's entries durable (a rename into it, a file created or removed): fsync of the directory.
    /// Windows has no such call (NTFS journals its metadata), so there it does nothing.
    public static void FlushDirectory(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Posix.open(dir, 0); // O_RDONLY
        if (fd < 0) throw new IOException($"{dir}: cannot open the directory to flush it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Posix.fsync(fd) != 0) throw new IOException($"{dir}: fsync failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { Posix.close(fd); }
    }

    /// Removes what a killed process left in dir: files and directories named `*.tmp-<pid>` whose process is gone.
    public static void RemoveStale(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
        {
            var m = TempSuffix().Match(entry);
            if (!m.Success || Alive(int.Parse(m.Groups[1].Value))) continue;
            if (Directory.Exists(entry)) Directory.Delete(entry, true);
            else File.Delete(entry);
        }
    }

    private static bool Alive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    [GeneratedRegex(@"\.tmp-(\d{1,9})$")]
    private static partial Regex TempSuffix();

    private static partial class Posix
    {
        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int open(string path, int flags);

        [LibraryImport("libc", SetLastError = true)]
        internal static partial int fsync(int fd);

        [LibraryImport("libc")]
        internal static partial int close(int fd);
    }
}
