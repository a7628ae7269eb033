using System.Text.Json.Serialization;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// The arena: POST /arena/battles starts a battle; POST /arena/battles/{id}/{a|b}/chat/completions streams one
/// side (same body as /v1/chat/completions, the model is hidden); POST /arena/battles/{id}/vote records the
/// verdict and reveals the names; GET /arena/leaderboard.
public static class ArenaEndpoints
{
    public sealed record VoteBody
    {
        [JsonPropertyName("winner")] public string? Winner { get; init; }
        [JsonPropertyName("prompt")] public string? Prompt { get; init; }
    }

    public static void Map(WebApplication app, Arena arena, ServeOptions options)
    {
        app.MapPost("/arena/battles", () => Results.Json(new { id = arena.Start().Id }));

        app.MapPost("/arena/battles/{id}/{side}/chat/completions", async (HttpContext ctx, string id, string side) =>
        {
            var battle = arena.Find(id);
            if (battle is null) return OpenAiError.Result(404, $"no open battle '{id}'", code: "not_found");
            var worker = side switch { "a" => battle.A, "b" => battle.B, _ => null };
            if (worker is null) return OpenAiError.BadRequest($"side must be a or b, got '{side}'");
            var r = await CompletionRequest.Read(ctx);
            var messages = CompletionRequest.Messages(r);
            var request = CompletionRequest.Build(r, (budget, maxTokens) => ChatPrompt.Chat(budget, messages, maxTokens), worker, options);
            return await CompletionResponder.Respond(ctx, worker, request, CompletionResponder.Kind.Chat, r.Stream == true,
                r.StreamOptions?.IncludeUsage == true, side.ToUpperInvariant());
        });

        app.MapPost("/arena/battles/{id}/vote", (string id, VoteBody body) =>
        {
            var vote = arena.Vote(id, body.Winner ?? "", body.Prompt ?? "");
            return vote is null
                ? OpenAiError.Result(404, $"no open battle '{id}' (already voted?)", code: "not_found")
                : Results.Json(new { model_a = vote.ModelA, model_b = vote.ModelB, winner = vote.Winner });
        });

        app.MapGet("/arena/leaderboard", () => Results.Text(Json.Serialize(arena.Leaderboard()), "application/json"));
    }
}
