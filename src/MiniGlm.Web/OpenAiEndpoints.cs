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
                // Extensions for the page: chat models use a template, pretrained ones continue text.
                chat = w.Template is not null, context_length = w.Model.Config.Model.BlockSize,
            }),
        }), "application/json"));

        app.MapPost("/v1/chat/completions", async (HttpContext ctx) =>
        {
            var r = await CompletionRequest.Read(ctx);
            var worker = pool.Find(r.Model);
            if (worker is null) return UnknownModel(r.Model!, pool);
            return await CompletionResponder.Serve(ctx, worker, worker.Name, CompletionResponder.Kind.Chat, r, () => CompletionRequest.Build(r,
                ChatPrompt.Chat(worker.Model.Tokenizer, worker.Template, CompletionRequest.Messages(r)), worker, options));
        });

        app.MapPost("/v1/completions", async (HttpContext ctx) =>
        {
            var r = await CompletionRequest.Read(ctx);
            var worker = pool.Find(r.Model);
            if (worker is null) return UnknownModel(r.Model!, pool);
            return await CompletionResponder.Serve(ctx, worker, worker.Name, CompletionResponder.Kind.Text, r, () => CompletionRequest.Build(r,
                ChatPrompt.Completion(worker.Model.Tokenizer, CompletionRequest.Prompt(r)), worker, options));
        });
    }

    private static IResult UnknownModel(string name, ModelPool pool) => OpenAiError.Result(404,
        $"the model '{name}' does not exist (served: {string.Join(", ", pool.Workers.Select(w => w.Name))})",
        param: "model", code: "model_not_found");
}
