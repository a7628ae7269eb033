using System.Text.Json.Serialization;

namespace MiniGlm.Evaluation;

/// Means and rates over a group of answers (a file, a question type, or everything). Rates are fractions in [0, 1];
/// KeyMatch is over the questions that have a Key (KeyedCount), null if none does.
public sealed record QaSummary
{
    [JsonPropertyName("count")] public int Count { get; init; }
    [JsonPropertyName("rouge_l")] public double RougeL { get; init; }
    [JsonPropertyName("char_f1")] public double CharF1 { get; init; }
    [JsonPropertyName("key_match")] public double? KeyMatch { get; init; }
    [JsonPropertyName("keyed_count")] public int KeyedCount { get; init; }
    [JsonPropertyName("empty_rate")] public double EmptyRate { get; init; }
    [JsonPropertyName("broken_rate")] public double BrokenRate { get; init; }
    [JsonPropertyName("repetitive_rate")] public double RepetitiveRate { get; init; }
    [JsonPropertyName("truncated_rate")] public double TruncatedRate { get; init; }
    [JsonPropertyName("mean_repetition")] public double MeanRepetition { get; init; }
    [JsonPropertyName("mean_answer_chars")] public double MeanAnswerChars { get; init; }
    [JsonPropertyName("tokens")] public long Tokens { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    /// Generated tokens per second of generation (prompt prefill included, model loading not).
    [JsonPropertyName("tokens_per_sec")] public double TokensPerSec { get; init; }

    public static QaSummary Of(IReadOnlyCollection<AnswerScore> answers)
    {
        if (answers.Count == 0) return new QaSummary();
        double Rate(Func<AnswerScore, bool> f) => (double)answers.Count(f) / answers.Count;
        var keyed = answers.Where(a => a.KeyMatch is not null).ToList();
        double seconds = answers.Sum(a => a.Seconds);
        long tokens = answers.Sum(a => (long)a.Tokens);
        return new QaSummary
        {
            Count = answers.Count,
            RougeL = answers.Average(a => a.RougeL),
            CharF1 = answers.Average(a => a.CharF1),
            KeyMatch = keyed.Count == 0 ? null : (double)keyed.Count(a => a.KeyMatch == true) / keyed.Count,
            KeyedCount = keyed.Count,
            EmptyRate = Rate(a => a.Empty), BrokenRate = Rate(a => a.Broken),
            RepetitiveRate = Rate(a => a.Repetitive), TruncatedRate = Rate(a => a.Truncated),
            MeanRepetition = answers.Average(a => a.Repetition),
            MeanAnswerChars = answers.Average(a => a.Answer.EnumerateRunes().Count()),
            Tokens = tokens, Seconds = seconds, TokensPerSec = seconds > 0 ? tokens / seconds : 0,
        };
    }
}
