namespace MiniGlm;

/// Every file the tool writes goes through here: written beside its destination under a temporary name, then
/// renamed into place, so a crash leaves either the old file or the new one, never half of one.
public static class AtomicFile
{
    public static string TempPath(string path) => $"{path}.tmp-{Environment.ProcessId}";

    public static void Write(string path, Action<string> writeTo)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = TempPath(path);
        try
        {
            writeTo(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));
}
