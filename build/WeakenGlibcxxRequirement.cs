// MSBuild task: lets TorchSharp's libLibTorchSharp.so load on systems whose libstdc++ is older than GCC 13.
//
// TorchSharp 0.107 was linked with GCC 13, which stamps a requirement for GLIBCXX_3.4.32 on the library only
// because of std::ios_base_library_init(), a symbol nothing calls. Debian 12 and Ubuntu 22.04 ship 3.4.30, so the
// dynamic loader refuses the file. Marking that one requirement VER_FLG_WEAK in .gnu.version_r turns the refusal
// into nothing at all. We patch only when the system library really lacks the version.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenGlibcxxRequirement : Task
{
    [Required] public string LibraryPath { get; set; } = "";
    [Required] public string Version { get; set; } = "";
    /// Patch even where this system has the version: a .NET tool's package is built here and run elsewhere.
    public bool Always { get; set; }

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    static readonly string[] SystemLibstdcxx =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    };

    public override bool Execute()
    {
        if (!File.Exists(LibraryPath)) return true;
        var system = SystemLibstdcxx.FirstOrDefault(File.Exists);
        if (!Always && system != null && Contains(File.ReadAllBytes(system), Encoding.ASCII.GetBytes(Version + "\0")))
            return true; // the system satisfies the requirement: leave the library as shipped

        var elf = File.ReadAllBytes(LibraryPath);
        int changed = MarkWeak(elf, Version);
        if (changed < 0) { Log.LogWarning($"{LibraryPath}: not a 64-bit little-endian ELF file; left unpatched."); return true; }
        if (changed == 0) return true; // already weak, or no such requirement
        var tmp = LibraryPath + ".tmp";
        File.WriteAllBytes(tmp, elf);
        File.Replace(tmp, LibraryPath, null); // an atomic rename: a loader never sees a half-written file
        Log.LogMessage(MessageImportance.High, $"MiniGLM: marked {Version} weak in {LibraryPath} ({(Always ? "a package to run elsewhere" : "system libstdc++ lacks it")}).");
        return true;
    }

    /// Returns how many version requirements were changed, or -1 when the file is not ELF64 LE.
    static int MarkWeak(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1) return -1;
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = BitConverter.ToInt64(elf, (int)sh + 24);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 24);
            long need = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < count; a++)
                {
                    uint name = BitConverter.ToUInt32(elf, (int)aux + 8);
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    if (ReadCString(elf, strtab + name) == version && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                        changed++;
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return changed;
    }

    static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    static bool Contains(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
