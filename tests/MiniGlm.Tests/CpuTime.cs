using System.Diagnostics;

namespace MiniGlm.Tests;

/// CPU time this test process has used so far: the work a piece of code did, which other jobs on a busy machine do
/// not inflate as they do wall time (tests run one at a time, so the process's time is the test's).
internal static class CpuTime
{
    public static TimeSpan Now
    {
        get { using var p = Process.GetCurrentProcess(); return p.TotalProcessorTime; }
    }
}
