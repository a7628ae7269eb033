namespace MiniGlm.Web;

/// Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so clients report them as usual.
public static class OpenAiError
{
    public static IResult Result(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null) =>
        Results.Json(new { error = new { message, type, param, code } }, Json.Options, statusCode: status);

    public static IResult BadRequest(string message, string? param = null) => Result(400, message, param: param);

    public static IResult QueueFull(HttpContext ctx, string model) =>
        RateLimited(ctx, $"model '{model}' is busy: its request queue is full, retry shortly", 1);

    public static IResult RateLimited(HttpContext ctx, string message, int retryAfterSeconds)
    {
        ctx.Response.Headers.RetryAfter = retryAfterSeconds.ToString();
        return Result(429, message, "rate_limit_exceeded", code: "rate_limit_exceeded");
    }

    public static async Task Write(HttpContext ctx, int status, string message, string type = "invalid_request_error", string? code = null,
        string? param = null)
    {
        ctx.Response.StatusCode = status;
        await ctx.Response.WriteAsJsonAsync(new { error = new { message, type, param, code } }, Json.Options);
    }
}
