using System.Net;
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
            var headers = ctx.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
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
        else if (IsLoopback(options.Host)) app.Use(LoopbackHostOnly);
        app.Use(JsonBodiesOnly);

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

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// A keyless server on loopback trusts whoever reaches it, so a web page must not: a DNS-rebinding page
    /// reaches it under its own host name, which is refused here.
    private static async Task LoopbackHostOnly(HttpContext ctx, RequestDelegate next)
    {
        var host = ctx.Request.Host.Host;
        if (!IsLoopback(host.Trim('[', ']')))
        {
            await OpenAiError.Write(ctx, 403, $"host '{host}' is not served: this server answers to localhost only (use --api_key to serve others)",
                code: "forbidden_host");
            return;
        }
        await next(ctx);
    }

    /// API bodies must be declared JSON, as OpenAI's clients do: a cross-site page can send text/plain without
    /// asking first (no CORS preflight), but not application/json.
    private static async Task JsonBodiesOnly(HttpContext ctx, RequestDelegate next)
    {
        var path = ctx.Request.Path;
        bool api = path.StartsWithSegments("/v1") || path.StartsWithSegments("/arena");
        if (api && HttpMethods.IsPost(ctx.Request.Method) && !ctx.Request.HasJsonContentType())
        {
            await OpenAiError.Write(ctx, 415, $"the body must be sent as Content-Type: application/json (got '{ctx.Request.ContentType}')",
                code: "unsupported_media_type");
            return;
        }
        await next(ctx);
    }

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
