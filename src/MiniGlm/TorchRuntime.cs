using System.Runtime.InteropServices;

namespace MiniGlm;

/// Process-wide settings for libtorch on CPU, applied once at start-up by the front ends.
public static partial class TorchRuntime
{
    private const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_MAX = -4;

    /// A training step allocates several tensors of hundreds of MB (logits over a 50k vocabulary and their
    /// gradients). glibc serves each from a fresh mmap and unmaps it on free, so every step page-faults its
    /// memory in again: measured here, 40 % of the CPU time went to the kernel. Keeping freed memory in the heap
    /// makes the seed config train about 25 % faster for the same peak memory.
    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, int.MaxValue);
            mallopt(M_TOP_PAD, 256 << 20);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl)
    }

    /// Gives the heap's free memory back (kept by <see cref="KeepFreedMemory"/>) and restarts the process's
    /// resident-memory high-water mark (VmHWM, <see cref="System.Diagnostics.Process.PeakWorkingSet64"/>), so the
    /// next peak read is of what runs from now on. Linux only; elsewhere the peak keeps counting from the start.
    public static void ResetPeakMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        try { File.WriteAllText("/proc/self/clear_refs", "5"); } // 5: reset the peak RSS (proc(5))
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// OpenMP's default spin-wait keeps idle workers busy between parallel regions. Inference alternates libtorch's
    /// OpenMP work with our own threads (<see cref="Decoding.Decoder"/>) many times per token, and a machine shared
    /// with other work has no spare core to spin on: measured on 2 busy cores, int8 decoding went from 180 to
    /// 17 ms/token and training (4×256 model) from 660 to 1,260 tokens/s with passive waiting. It must be chosen
    /// before libtorch loads (OpenMP reads it once), i.e. before the first tensor; a user's own OMP_WAIT_POLICY wins.
    public static void PassiveThreadWait()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        try { passiveSetHere = setenv("OMP_WAIT_POLICY", "PASSIVE", 0) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// Takes <see cref="PassiveThreadWait"/> back in a process that runs llama.cpp instead of libtorch, before
    /// llama.cpp's natives load: ggml waits at a barrier after every operation, hundreds per token, and waiting
    /// passively there its Q8_0 decoding measured 7.4 instead of 3.6–4.2 ms/token. A user's own setting stays.
    public static void DefaultThreadWait()
    {
        if (!passiveSetHere) return;
        unsetenv("OMP_WAIT_POLICY");
        passiveSetHere = false;
    }

    private static bool passiveSetHere;

    [LibraryImport("libc")]
    private static partial int mallopt(int param, int value);

    [LibraryImport("libc")]
    private static partial int malloc_trim(nuint pad);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unsetenv(string name);
}
