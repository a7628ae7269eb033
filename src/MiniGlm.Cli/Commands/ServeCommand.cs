using Microsoft.Extensions.Hosting;
using MiniGlm.Serving;
using MiniGlm.Web;

namespace MiniGlm.Cli.Commands;

public static class ServeCommand
{
    private const string Usage = """
        usage: ./miniglm serve --ckpt DIR [--ckpt DIR …] [options]
          Serves the checkpoints over HTTP: a chat page and a side-by-side arena at /, and an OpenAI-compatible
          API at /v1 (models, chat/completions, completions). Ctrl-C stops it.
          --ckpt DIR            a checkpoint or run directory; repeat it to serve several models
          --host H              address to listen on (127.0.0.1: this machine only; 0.0.0.0: the network)
          --port P              port (8000)
          --api_key_env VAR     require `Authorization: Bearer $VAR` on every API call
          --queue N             requests that may wait per model; more get 429 (8)
          --max_tokens_limit N  ceiling on max_tokens per request (1024)
          --votes FILE          where arena votes are appended (out/arena/votes.jsonl)
          --dtype D             inference weights: int8 (default; fastest decoding on CPU), float32 or bfloat16
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        var ckpts = cl.Values("ckpt");
        if (ckpts.Count == 0) throw new MiniGlmException("missing --ckpt (the checkpoint or run directory to serve)");
        string? key = null;
        if (cl.Get("api_key_env") is { } variable)
        {
            key = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(key)) throw new MiniGlmException($"--api_key_env {variable}: that environment variable is empty or unset");
        }
        var options = new ServeOptions
        {
            Host = cl.Get("host") ?? "127.0.0.1",
            Port = cl.Int("port", 8000, min: 0),
            ApiKey = key,
            QueueCapacity = cl.Int("queue", 8, min: 1),
            MaxTokensCeiling = cl.Int("max_tokens_limit", 1024, min: 1),
            VotesPath = cl.Get("votes") ?? "out/arena/votes.jsonl",
        };
        var dtype = SamplingArgs.Dtype(cl);
        cl.RejectUnknown("serve");

        using var pool = ModelPool.Load(ckpts, options.QueueCapacity, dtype);
        var arena = new Arena(pool, new VoteStore(options.VotesPath));
        var app = ServeApp.Build(options, pool, arena);
        try { app.Start(); }
        catch (IOException e) { throw new MiniGlmException($"cannot listen on {options.Host}:{options.Port}: {e.Message}"); }
        foreach (var w in pool.Workers)
            Console.WriteLine($"  {w.Name,-16} {(w.Template is null ? "pretrained (continues text)" : "chat")}  {w.Model.Path}");
        var url = ServeApp.Address(app);
        Console.WriteLine($"serving on {url}  (page: {url}  API: {url}v1  votes: {options.VotesPath}){(key is null ? "" : "  API key required")}");
        if (options.Host is not ("127.0.0.1" or "localhost" or "::1") && key is null)
            Console.WriteLine("warning: listening beyond this machine without --api_key_env: anyone who can reach it can use it");
        app.WaitForShutdown();
        return 0;
    }
}
