using System.Collections.Concurrent;
using System.Threading.Channels;
using MiniGlm.Decoding;
using MiniGlm.Generation;

namespace MiniGlm.Serving;

/// One served model and the thread that runs it. Requests wait in a bounded first-in-first-out queue (so every
/// request is served in arrival order and none starves; a full queue refuses at once). A place in the queue is
/// reserved before a request is prepared (encoding a long prompt is work too), so a full queue refuses before any
/// heavy work. The requests being generated share one decode step on a dedicated thread (continuous batching:
/// a request joins at the next step and leaves when done), because TorchSharp's no_grad and dispose scopes are
/// thread-local and must never span an await. Each request gets a channel of updates that the HTTP side awaits.
public sealed class ModelWorker : IDisposable
{
    private readonly BlockingCollection<Job> queue = new();
    private readonly Thread thread;
    private int busy;
    // Places taken: requests being prepared or waiting in the queue (not those being generated).
    private int reserved;

    public string Name { get; }
    public LoadedModel Model { get; }
    /// SFT checkpoints carry a chat template; pretrained ones continue text.
    public ChatTemplate? Template => Model.Config.ChatTemplate;
    public int QueueCapacity { get; }
    /// Streams decoded together in one step at most; more requests wait in the queue.
    public const int MaxBatch = 8;
    /// The most streams one decode step has served so far (for tests and monitoring).
    public int LargestBatch => Volatile.Read(ref largestBatch);
    private int largestBatch;
    /// Requests waiting or being prepared (not counting those being generated).
    public int Waiting => Volatile.Read(ref reserved);
    public bool Busy => Volatile.Read(ref busy) == 1;
    /// Requests finished so far, by finish reason: stop, length, cancelled or error (for tests and monitoring).
    public ConcurrentDictionary<string, int> Finished { get; } = new();

    private sealed record Job(GenerationRequest Request, Channel<GenerationUpdate> Updates, CancellationToken Cancel);

    public ModelWorker(string name, LoadedModel model, int queueCapacity)
    {
        if (queueCapacity < 1) throw new MiniGlmException($"the queue must hold at least 1 request, got {queueCapacity}");
        Name = name; Model = model; QueueCapacity = queueCapacity;
        thread = new Thread(Run) { IsBackground = true, Name = $"generate {name}" };
        thread.Start();
    }

    /// Takes a place in the queue; null when it is full (the caller answers 429).
    public Slot? TryReserve()
    {
        for (int n = Volatile.Read(ref reserved); n < QueueCapacity; n = Volatile.Read(ref reserved))
            if (Interlocked.CompareExchange(ref reserved, n + 1, n) == n) return new Slot(this);
        return null;
    }

    /// A reserved place in the queue: Enqueue fills it; disposing it unfilled (the request was refused) frees it.
    public sealed class Slot(ModelWorker worker) : IDisposable
    {
        private int state; // 0 reserved, 1 filled or freed

        /// Queues the request. Cancelling the token (the client disconnected) drops a waiting request or stops a
        /// running one after the current step.
        public ChannelReader<GenerationUpdate> Enqueue(GenerationRequest request, CancellationToken cancel)
        {
            if (Interlocked.Exchange(ref state, 1) != 0) throw new InvalidOperationException("this queue place was already used");
            var updates = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            worker.queue.Add(new Job(request, updates, cancel));
            return updates.Reader;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref state, 1) == 0) Interlocked.Decrement(ref worker.reserved);
        }
    }

    /// The generation thread: continuous batching. It blocks only when no stream is active; otherwise waiting
    /// requests join at the next step (up to <see cref="MaxBatch"/> streams, each with its own cache row), one
    /// decode step serves every active stream, and a stream leaves as soon as it is finished or cancelled.
    private void Run()
    {
        var cache = new KvCache(Model.Generator.Model.Config);
        var active = new List<Active>();
        while (true)
        {
            if (active.Count == 0)
            {
                Volatile.Write(ref busy, 0);
                if (!queue.TryTake(out var first, Timeout.Infinite)) return; // shut down and drained
                Join(first, cache, active);
            }
            while (active.Count < MaxBatch && queue.TryTake(out var next)) Join(next, cache, active);
            foreach (var a in active.Where(a => a.Job.Cancel.IsCancellationRequested).ToArray()) Leave(a, "cancelled", active);
            if (active.Count == 0) continue;
            Volatile.Write(ref busy, 1);
            if (active.Count > largestBatch) Volatile.Write(ref largestBatch, active.Count);
            (int[] Tokens, string[] Text) step;
            try { step = Model.Generator.Step(cache, active.Select(a => a.Stream).ToArray()); }
            catch (Exception e)
            {
                foreach (var a in active.ToArray()) Leave(a, "error", active, e);
                continue;
            }
            foreach (var (a, text) in active.Zip(step.Text).ToArray())
            {
                var ready = a.Stop.Push(text);
                if (ready.Length > 0) a.Job.Updates.Writer.TryWrite(new GenerationUpdate(ready, a.Stream.CompletionTokens));
                if (a.Stop.Stopped || a.Stream.Finished) Leave(a, a.Stop.Stopped ? "stop" : a.Stream.FinishReason!, active);
            }
        }
    }

    private sealed record Active(Job Job, GenerationStream Stream, StopMatcher Stop);

    private void Join(Job job, KvCache cache, List<Active> active)
    {
        Interlocked.Decrement(ref reserved);
        if (job.Cancel.IsCancellationRequested) { Finish(job, new GenerationUpdate("", 0, "cancelled")); return; }
        try { active.Add(new Active(job, Model.Generator.Start(job.Request.Prompt, job.Request.Options, cache), new StopMatcher(job.Request.Stop))); }
        catch (Exception e) { Finish(job, null, e); }
    }

    /// Ends a stream: the bytes still waiting for their character and any text held back for a stop string go
    /// out with the finish reason, and its cache row is freed for the next request.
    private void Leave(Active a, string reason, List<Active> active, Exception? error = null)
    {
        active.Remove(a);
        using var stream = a.Stream;
        var rest = a.Stop.Push(stream.Flush()) + a.Stop.Flush();
        Finish(a.Job, error is null ? new GenerationUpdate(rest, stream.CompletionTokens, reason) : null, error);
    }

    private void Finish(Job job, GenerationUpdate? last, Exception? error = null)
    {
        if (last is not null) job.Updates.Writer.TryWrite(last);
        job.Updates.Writer.TryComplete(error);
        Finished.AddOrUpdate(last?.FinishReason ?? "error", 1, (_, n) => n + 1);
    }

    public void Dispose()
    {
        queue.CompleteAdding();
        thread.Join();
        Model.Dispose();
    }
}
