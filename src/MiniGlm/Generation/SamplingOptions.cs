namespace MiniGlm.Generation;

/// How tokens are chosen; defaults are MiniGLM's sample.py (plus top_p and repetition_penalty, off by default).
public sealed record SamplingOptions
{
    /// sample.py's temperature: what a pretrained model starts at.
    public const double SeedTemperature = 0.8;
    /// What a chat (SFT) model starts at in `chat`, the page and the API: a fact bot should give its most likely
    /// answer, and 0.3 nearly always does (a memorised answer's tokens are far ahead), while Retry still gives
    /// another wording now and then, which greedy never would.
    public const double ChatTemperature = 0.3;

    /// The presets the page offers, by name.
    public static IReadOnlyDictionary<string, double> TemperaturePresets { get; } =
        new Dictionary<string, double> { ["facts"] = ChatTemperature, ["seed"] = SeedTemperature };

    /// The defaults for a model: a chat model (with a template) starts at ChatTemperature, a pretrained one at
    /// sample.py's settings.
    public static SamplingOptions For(ChatTemplate? template) => template is null ? new() : new() { Temperature = ChatTemperature };

    public int MaxNewTokens { get; init; } = 500;
    /// 0 means greedy (argmax).
    public double Temperature { get; init; } = SeedTemperature;
    /// 0 disables top-k.
    public int TopK { get; init; } = 200;
    /// 1.0 disables nucleus sampling.
    public double TopP { get; init; } = 1.0;
    /// 1.0 disables it; >1 discourages tokens already in the context (the CTRL/HF rule).
    public double RepetitionPenalty { get; init; } = 1.0;
    public int Seed { get; init; } = 1234;
    /// Stop a sample at <|endoftext|>; a pretrained model may be let run on.
    public bool StopAtEndOfText { get; init; } = true;

    public bool Greedy => Temperature == 0;

    // Beyond these the logits overflow: dividing by a temperature or penalty of 1e-300 makes them infinite, then NaN.
    public const double MinTemperature = 1e-3, MaxTemperature = 100, MinRepetitionPenalty = 0.01, MaxRepetitionPenalty = 100;

    public SamplingOptions Validated()
    {
        if (MaxNewTokens < 1) throw new MiniGlmException($"max_new_tokens must be at least 1, got {MaxNewTokens}");
        if (!(Temperature == 0 || Temperature is >= MinTemperature and <= MaxTemperature))
            throw new MiniGlmException($"temperature must be 0 (greedy) or in [{MinTemperature}, {MaxTemperature}], got {Temperature}");
        if (TopK < 0) throw new MiniGlmException($"top_k must be ≥ 0 (0 = off), got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new MiniGlmException($"top_p must be in (0, 1], got {TopP}");
        if (!(RepetitionPenalty is >= MinRepetitionPenalty and <= MaxRepetitionPenalty))
            throw new MiniGlmException($"repetition_penalty must be in [{MinRepetitionPenalty}, {MaxRepetitionPenalty}] (1 = off), got {RepetitionPenalty}");
        return this;
    }
}
