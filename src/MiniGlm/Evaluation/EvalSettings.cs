using MiniGlm.Model;
using System.Text.Json.Serialization;
using MiniGlm.Generation;

namespace MiniGlm.Evaluation;

/// How an evaluation was made; recorded in results.json so two reports can be compared knowingly. Decoding is
/// greedy by default, so the same checkpoint on the same questions gives the same answers.
public sealed record EvalSettings
{
    [JsonIgnore] public SamplingOptions Sampling { get; init; } = Greedy(256);

    [JsonPropertyName("greedy")] public bool IsGreedy => Sampling.Greedy;
    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens => Sampling.MaxNewTokens;
    [JsonPropertyName("temperature")] public double Temperature => Sampling.Temperature;
    [JsonPropertyName("top_k")] public int TopK => Sampling.TopK;
    [JsonPropertyName("top_p")] public double TopP => Sampling.TopP;
    [JsonPropertyName("repetition_penalty")] public double RepetitionPenalty => Sampling.RepetitionPenalty;
    [JsonPropertyName("seed")] public int Seed => Sampling.Seed;
    [JsonPropertyName("stop_at_endoftext")] public bool StopAtEndOfText => Sampling.StopAtEndOfText;
    [JsonPropertyName("dtype"), JsonConverter(typeof(JsonStringEnumConverter<InferenceDtype>))]
    public InferenceDtype Dtype { get; init; } = InferenceDtype.Float32;

    /// Questions per QA file, taken in turn from each question type; null = all.
    [JsonPropertyName("limit")] public int? Limit { get; init; }
    /// Val windows of block_size tokens scored for the language-modelling figures.
    [JsonPropertyName("lm_windows")] public int LmWindows { get; init; } = 100;
    /// Questions shown with every model's answer in the report.
    [JsonPropertyName("samples")] public int Samples { get; init; } = 12;
    [JsonPropertyName("rouge_beta")] public double RougeBeta { get; init; } = 1.0;
    [JsonPropertyName("repetition_n")] public int RepetitionN { get; init; } = RepetitionMeasure.DefaultN;
    [JsonPropertyName("repetition_threshold")] public double RepetitionThreshold { get; init; } = RepetitionMeasure.DefaultThreshold;

    public static SamplingOptions Greedy(int maxNewTokens) => new() { Temperature = 0, MaxNewTokens = maxNewTokens };
}
