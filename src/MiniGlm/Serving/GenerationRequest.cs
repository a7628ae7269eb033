using MiniGlm.Generation;

namespace MiniGlm.Serving;

/// What a client asks one model for: prompt tokens (already cropped to fit), sampling options and stop strings.
public sealed record GenerationRequest(IReadOnlyList<int> Prompt, SamplingOptions Options, IReadOnlyList<string> Stop);

/// A piece of the answer as it streams. The last update carries FinishReason: "stop" (end-of-text or a stop
/// string), "length" (max tokens reached) or "cancelled" (the client went away or pressed Stop).
public sealed record GenerationUpdate(string Text, int CompletionTokens, string? FinishReason = null);
