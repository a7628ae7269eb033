using MiniGlm.Generation;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// GET /v1/models, POST /v1/chat/completions, POST /v1/completions.
public static class OpenAiEndpoints
{
    public static void Map(WebApplication app, ModelPool pool, ServeOptions options)
    {
        app.MapGet("/v1/models", () => Results.Text(Json.Serialize(new
        {
            @object = "list",
            data = pool.Workers.Select(w => new
            {
                id = w.Name, @object = "model", created = 0, owned_by = "miniglm",
                // Extensions for the page: chat models use a template, pretrained ones continue text; a chat model
                // trained on single questions is sent only the last one; the sampling it starts at.
                chat = w.Template is not null, context_length = w.Model.Config.Model.BlockSize,
                multi_turn = PromptBudget.For(w.Model).MultiTurn, max_turns = w.Model.Config.MaxTurns,
                temperature = SamplingOptions.For(w.Template).Temperature, temperature_presets = SamplingOptions.TemperaturePresets,
            }),
        }), "application/json"));

        app.MapPost("/v1/chat/completions", async (HttpContext ctx) =>
        {
            var r = await CompletionRequest.Read(ctx);
            var worker = pool.Find(r.Model);
            if (worker is null) return UnknownModel(r.Model!, pool);
            return await CompletionResponder.Serve(ctx, worker, worker.Name, CompletionResponder.Kind.Chat, r, () =>
            {
                var messages = CompletionRequest.Messages(r);
                return CompletionRequest.Build(r, (budget, maxTokens) => ChatPrompt.Chat(budget, messages, maxTokens), worker, options);
            });
        });

        app.MapPost("/v1/completions", async (HttpContext ctx) =>
        {
            var r = await CompletionRequest.Read(ctx);
            var worker = pool.Find(r.Model);
            if (worker is null) return UnknownModel(r.Model!, pool);
            return await CompletionResponder.Serve(ctx, worker, worker.Name, CompletionResponder.Kind.Text, r, () =>
            {
                var text = CompletionRequest.Prompt(r);
                return CompletionRequest.Build(r, (budget, maxTokens) => budget.Text(text, maxTokens), worker, options);
            });
        });
    }

    private static IResult UnknownModel(string name, ModelPool pool) => OpenAiError.Result(404,
        $"the model '{name}' does not exist (served: {string.Join(", ", pool.Workers.Select(w => w.Name))})",
        param: "model", code: "model_not_found");
}
