using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Generation;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// The arena: POST /arena/battles starts a battle; POST /arena/battles/{id}/{a|b}/chat/completions streams one
/// side (same body as /v1/chat/completions, the model is hidden, and the server's own sampling settings apply);
/// POST /arena/battles/{id}/vote records the verdict once both sides were answered in full and reveals the names;
/// GET /arena/leaderboard. A battle belongs to the client address that started it.
public static class ArenaEndpoints
{
    public sealed record VoteBody
    {
        [JsonPropertyName("winner")] public string? Winner { get; init; }
    }

    public static void Map(WebApplication app, Arena arena, ServeOptions options)
    {
        app.MapPost("/arena/battles", (HttpContext ctx) => arena.Start(Client(ctx)) is { } battle
            ? Results.Json(new { id = battle.Id })
            : OpenAiError.RateLimited(ctx, $"at most {Arena.BattlesPerMinute} battles a minute per client; retry shortly", 6));

        app.MapPost("/arena/battles/{id}/{side}/chat/completions", async (HttpContext ctx, string id, string side) =>
        {
            var battle = arena.Find(id, Client(ctx));
            if (battle is null) return NoBattle(id);
            var worker = battle.Side(side);
            if (worker is null) return OpenAiError.BadRequest($"side must be a or b, got '{side}'");
            var asked = await CompletionRequest.Read(ctx);
            var messages = CompletionRequest.Messages(asked);
            // The server decides how battles are sampled: a client choosing greedy decoding or a seed could
            // recognise a model by its answer elsewhere.
            var r = new ApiRequest { Messages = asked.Messages, Stream = asked.Stream, StreamOptions = asked.StreamOptions };
            var conversation = Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(messages)));
            var prompt = messages.LastOrDefault(m => m.Role == "user")?.Content ?? "";
            return await CompletionResponder.Serve(ctx, worker, side.ToUpperInvariant(), CompletionResponder.Kind.Chat, r, () =>
            {
                var request = CompletionRequest.Build(r, (budget, maxTokens) => ChatPrompt.Chat(budget, messages, maxTokens), worker, options);
                battle.Answering(side, conversation, prompt);
                return request;
            }, anonymous: true, finished: reason => battle.Answered(side, conversation, reason));
        });

        app.MapPost("/arena/battles/{id}/vote", async (HttpContext ctx, string id) =>
        {
            var body = await CompletionRequest.Read<VoteBody>(ctx);
            ArenaVote? vote;
            try { vote = arena.Vote(id, Client(ctx), body.Winner ?? ""); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return OpenAiError.Result(503, $"the vote could not be stored ({e.Message}); the battle is still open, vote again", "server_error");
            }
            return vote is null
                ? NoBattle(id)
                : Results.Json(new { model_a = vote.ModelA, model_b = vote.ModelB, winner = vote.Winner });
        });

        app.MapGet("/arena/leaderboard", () => Results.Text(Json.Serialize(arena.Leaderboard()), "application/json"));
    }

    private static string Client(HttpContext ctx) => ctx.Connection.RemoteIpAddress?.ToString() ?? "";

    private static IResult NoBattle(string id) => OpenAiError.Result(404, $"no open battle '{id}' of yours (already voted?)", code: "not_found");
}
