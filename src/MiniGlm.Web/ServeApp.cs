using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.FileProviders;
using MiniGlm.Serving;

namespace MiniGlm.Web;

/// The web app of `serve`: the chat and arena page, the OpenAI-compatible API and the arena API, mapped onto
/// the engine's model pool. It holds no model logic of its own.
public static class ServeApp
{
    public static WebApplication Build(ServeOptions options, ModelPool pool, Arena arena)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        var app = builder.Build();

        app.Use(async (ctx, next) =>
        {
            try { await next(ctx); }
            catch (CompletionRequest.Invalid e) { await OpenAiError.Write(ctx, 400, e.Message, param: e.Param); }
            catch (MiniGlmException e) { await OpenAiError.Write(ctx, 400, e.Message); }
            catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
            {
                await OpenAiError.Write(ctx, e.StatusCode, e.StatusCode == 413
                    ? $"the request body is larger than {options.MaxBodyBytes} bytes" : e.Message);
            }
        });
        if (options.ApiKey is { } key) app.Use(RequireKey(key));

        var page = new EmbeddedFileProvider(typeof(ServeApp).Assembly, "MiniGlm.Web.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = page });
        app.UseRouting(); // after the static files, so the fallback route below does not hide the page

        OpenAiEndpoints.Map(app, pool, options);
        ArenaEndpoints.Map(app, arena, options);
        app.MapFallback(ctx => OpenAiError.Write(ctx, 404, $"no route {ctx.Request.Method} {ctx.Request.Path}", code: "not_found"));
        return app;
    }

    /// Where the started app listens (with port 0, the port the system chose).
    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static Func<HttpContext, RequestDelegate, Task> RequireKey(string key)
    {
        var expected = Encoding.UTF8.GetBytes("Bearer " + key);
        return async (ctx, next) =>
        {
            var path = ctx.Request.Path;
            bool api = path.StartsWithSegments("/v1") || path.StartsWithSegments("/arena");
            var given = Encoding.UTF8.GetBytes(ctx.Request.Headers.Authorization.ToString());
            if (api && !CryptographicOperations.FixedTimeEquals(given, expected))
            {
                await OpenAiError.Write(ctx, 401, "missing or wrong API key: send 'Authorization: Bearer <key>'", code: "invalid_api_key");
                return;
            }
            await next(ctx);
        };
    }
}
