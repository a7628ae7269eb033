using Microsoft.AspNetCore.Builder;
using MiniGlm.Generation;
using MiniGlm.Serving;
using MiniGlm.Web;

namespace MiniGlm.Tests;

/// The real `serve` app on a free loopback port, serving tiny checkpoints: "chat" (an SFT checkpoint with the
/// seed's template) and, unless asked for one model, "pretrain" (no template); or the given checkpoints.
public sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly TempDir dir = new();
    private readonly WebApplication app;

    public ModelPool Pool { get; }
    public Arena Arena { get; }
    public ServeOptions Options { get; }
    public Uri Address { get; }
    public string VotesPath => Options.VotesPath;
    public HttpClient Http { get; }

    /// <param name="addModels">Adds models of the test's own making (e.g. one whose generation fails) after the checkpoints.</param>
    /// <param name="arenaClock">The arena's clock (its per-minute battle limit), so a test's outcome does not depend on its speed.</param>
    public ServerUnderTest(ServeOptions? options = null, bool twoModels = true, string? votesPath = null, IReadOnlyList<string>? checkpoints = null,
        Action<ModelPool>? addModels = null, Func<DateTime>? arenaClock = null)
    {
        Options = (options ?? new ServeOptions()) with { Host = "127.0.0.1", Port = 0, VotesPath = votesPath ?? dir["votes.jsonl"] };
        var ckpts = checkpoints?.ToList() ?? [TinyCheckpoint.Create(dir["chat"], ChatTemplate.Seed)];
        if (checkpoints is null && twoModels) ckpts.Add(TinyCheckpoint.Create(dir["pretrain"]));
        Pool = ModelPool.Load(ckpts, Options.QueueCapacity);
        addModels?.Invoke(Pool);
        Arena = new Arena(Pool, new VoteStore(Options.VotesPath), arenaClock);
        app = ServeApp.Build(Options, Pool, Arena);
        app.StartAsync().GetAwaiter().GetResult();
        Address = ServeApp.Address(app);
        // No draining of an abandoned response: disposing one closes the connection at once, as a browser does.
        Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public ModelWorker Worker(string name) => Pool.Find(name)!;

    /// Waits (up to `seconds`) until the condition holds; false if it never did. The default is room for a busy
    /// machine: what is awaited here takes milliseconds on a quiet one, and forever when it is broken.
    public static async Task<bool> Eventually(Func<bool> condition, double seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        Pool.Dispose();
        dir.Dispose();
    }
}
