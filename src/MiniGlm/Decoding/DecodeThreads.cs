namespace MiniGlm.Decoding;

/// The threads a decode step splits its work over (the products' output rows, the attention heads). A step forks
/// and joins about thirty times; Parallel.For woke a sleeping pool thread each time, which cost about a millisecond
/// per token on 2 cores. These workers stay awake for a moment between the parts of a step and sleep after it.
/// One step at a time: a second caller meanwhile (two models served at once) runs its parts on its own thread.
internal static class DecodeThreads
{
    private const int SpinIterations = 20_000; // ~0.1 ms awake after a part: longer than the gaps inside a step

    private static readonly int workerCount = Math.Max(0, Environment.ProcessorCount - 1);
    private static readonly ManualResetEventSlim wake = new(false);
    private static readonly object startLock = new();
    private static bool started;
    private static int busy, generation;
    private static Job? current;

    /// How many threads can work on one step here.
    public static int Count => workerCount + 1;

    /// Runs work(0) … work(count − 1) across the caller and the workers, and returns when all have finished.
    public static void For(int count, Action<int> work)
    {
        if (count <= 1 || workerCount == 0 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) work(i);
            return;
        }
        try
        {
            Start();
            var job = new Job(work, count);
            Volatile.Write(ref current, job);
            Interlocked.Increment(ref generation);
            wake.Set();
            job.TakeParts();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Unfinished) > 0) spin.SpinOnce(sleep1Threshold: -1);
            if (job.Failure is not null) throw new AggregateException(job.Failure);
        }
        finally { Volatile.Write(ref busy, 0); }
    }

    private sealed class Job(Action<int> work, int parts)
    {
        public readonly int Parts = parts;
        public int Next, Unfinished = parts;
        public Exception? Failure;

        public void TakeParts()
        {
            for (int i; (i = Interlocked.Increment(ref Next) - 1) < Parts;)
            {
                try { work(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Failure, e, null); }
                Interlocked.Decrement(ref Unfinished);
            }
        }
    }

    private static void Start()
    {
        if (Volatile.Read(ref started)) return;
        lock (startLock)
        {
            if (started) return;
            for (int w = 0; w < workerCount; w++)
                new Thread(Work) { IsBackground = true, Name = $"decode {w + 1}" }.Start();
            Volatile.Write(ref started, true);
        }
    }

    private static void Work()
    {
        int seen = 0;
        while (true)
        {
            for (int spins = 0; Volatile.Read(ref generation) == seen;)
            {
                if (++spins < SpinIterations) { Thread.SpinWait(20); continue; }
                wake.Reset(); // then look again: a job published before the reset is seen, one after it sets wake
                if (Volatile.Read(ref generation) == seen) wake.Wait();
                spins = 0;
            }
            seen = Volatile.Read(ref generation);
            Volatile.Read(ref current)?.TakeParts(); // a finished job has no parts left: nothing happens
        }
    }
}
