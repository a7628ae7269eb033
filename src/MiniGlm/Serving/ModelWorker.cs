using System.Collections.Concurrent;
using System.Threading.Channels;
using MiniGlm.Generation;

namespace MiniGlm.Serving;

/// One served model and the thread that runs it. Requests wait in a bounded first-in-first-out queue (so every
/// request is served in arrival order and none starves; a full queue refuses at once). A place in the queue is
/// reserved before a request is prepared (encoding a long prompt is work too), so a full queue refuses before any
/// heavy work. Requests are generated one at a time on a dedicated thread, because TorchSharp's no_grad and dispose scopes are thread-local and must never
/// span an await. Each request gets a channel of updates that the HTTP side awaits.
public sealed class ModelWorker : IDisposable
{
    private readonly BlockingCollection<Job> queue = new();
    private readonly Thread thread;
    private int busy;
    // Places taken: requests being prepared or waiting in the queue (not the one being generated).
    private int reserved;

    public string Name { get; }
    public LoadedModel Model { get; }
    /// SFT checkpoints carry a chat template; pretrained ones continue text.
    public ChatTemplate? Template => Model.Config.ChatTemplate;
    public int QueueCapacity { get; }
    /// Requests waiting or being prepared (not counting the one being generated).
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
        /// running one after the current token.
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

    private void Run()
    {
        foreach (var job in queue.GetConsumingEnumerable())
        {
            Interlocked.Decrement(ref reserved);
            Volatile.Write(ref busy, 1);
            string reason = "cancelled";
            try { reason = Generate(job); }
            catch (Exception e) { reason = "error"; job.Updates.Writer.TryComplete(e); }
            finally
            {
                job.Updates.Writer.TryComplete();
                Finished.AddOrUpdate(reason, 1, (_, n) => n + 1);
                Volatile.Write(ref busy, 0);
            }
        }
    }

    private string Generate(Job job)
    {
        var writer = job.Updates.Writer;
        if (job.Cancel.IsCancellationRequested) { writer.TryWrite(new GenerationUpdate("", 0, "cancelled")); return "cancelled"; }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(job.Cancel);
        var (request, eot) = (job.Request, Model.Tokenizer.EotId);
        var matcher = new StopMatcher(request.Stop);
        int tokens = 0;
        bool endOfText = false;
        foreach (var step in Model.Generator.Generate(request.Prompt, request.Options, 1, true, stop.Token))
        {
            foreach (var id in step.Tokens)
                if (id == eot) endOfText = true; else tokens++;
            var text = matcher.Push(step.Text[0]);
            if (text.Length > 0) writer.TryWrite(new GenerationUpdate(text, tokens));
            if (matcher.Stopped) stop.Cancel();
        }
        var rest = matcher.Flush();
        string reason = job.Cancel.IsCancellationRequested ? "cancelled"
            : matcher.Stopped || endOfText ? "stop" : "length";
        writer.TryWrite(new GenerationUpdate(rest, tokens, reason));
        return reason;
    }

    public void Dispose()
    {
        queue.CompleteAdding();
        thread.Join();
        Model.Dispose();
    }
}
