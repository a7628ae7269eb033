namespace MiniGlm.Web;

/// How `serve` runs: where it listens, who may call it, and the limits that keep one client from taking the box.
public sealed record ServeOptions
{
    public string Host { get; init; } = "127.0.0.1";
    /// 0 picks a free port (tests).
    public int Port { get; init; } = 8000;
    /// When set, every API call must send `Authorization: Bearer <key>`.
    public string? ApiKey { get; init; }
    /// Requests that may wait per model behind the one being generated; more get 429.
    public int QueueCapacity { get; init; } = 8;
    /// max_tokens above this is lowered to it (finish_reason "length" tells the client).
    public int MaxTokensCeiling { get; init; } = 1024;
    public int DefaultMaxTokens { get; init; } = 256;
    public long MaxBodyBytes { get; init; } = 1 << 20;
    /// Where arena votes are appended.
    public string VotesPath { get; init; } = "out/arena/votes.jsonl";
}
