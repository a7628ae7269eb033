using System.Text.Json.Serialization;

namespace MiniGlm.Evaluation;

/// One model's answer to one question and everything measured about it. The failure flags are the checks the
/// course's TAs made by hand: nothing said, garbled bytes (U+FFFD from invalid UTF-8), a loop, or cut off at the
/// token limit instead of ending on its own.
public sealed record AnswerScore
{
    [JsonPropertyName("answer")] public required string Answer { get; init; }
    [JsonPropertyName("tokens")] public int Tokens { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("rouge_l")] public double RougeL { get; init; }
    [JsonPropertyName("char_f1")] public double CharF1 { get; init; }
    /// Null when the question has no Key.
    [JsonPropertyName("key_match")] public bool? KeyMatch { get; init; }
    [JsonPropertyName("repetition")] public double Repetition { get; init; }
    [JsonPropertyName("empty")] public bool Empty { get; init; }
    [JsonPropertyName("broken")] public bool Broken { get; init; }
    [JsonPropertyName("repetitive")] public bool Repetitive { get; init; }
    [JsonPropertyName("truncated")] public bool Truncated { get; init; }
    /// The answer says it has not read what was asked (「我没有读过…」).
    [JsonPropertyName("refusal")] public bool Refusal { get; init; }
    /// For a question after a history: how many of its newest earlier turns the prompt held (0: the turn a
    /// follow-up refers to was cut).
    [JsonPropertyName("history_kept"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? HistoryKept { get; init; }

    /// Scores an answer against a question's reference. Truncated means generation hit max_new_tokens.
    public static AnswerScore Of(QaItem item, string answer, int tokens, double seconds, bool truncated, EvalSettings settings)
    {
        answer = answer.Trim();
        double repetition = RepetitionMeasure.Ratio(answer, settings.RepetitionN);
        return new AnswerScore
        {
            Answer = answer, Tokens = tokens, Seconds = seconds,
            RougeL = Evaluation.RougeL.Score(item.Answer, answer, settings.RougeBeta).F,
            CharF1 = Evaluation.CharF1.Score(item.Answer, answer),
            KeyMatch = item.Key is null ? null : Contains(answer, item.Key),
            Repetition = repetition,
            Empty = answer.Length == 0,
            Broken = answer.Contains('\uFFFD'),
            Repetitive = repetition >= settings.RepetitionThreshold,
            Truncated = truncated,
            Refusal = Questions.PoetryRefusals.IsRefusal(answer),
        };
    }

    /// The key fact appears in the answer, compared with full-width forms folded and without whitespace.
    public static bool Contains(string answer, string key)
    {
        static string Norm(string s) => string.Concat(TextUnits.FoldWidth(s).Where(c => !char.IsWhiteSpace(c)));
        var k = Norm(key);
        return k.Length > 0 && Norm(answer).Contains(k, StringComparison.Ordinal);
    }
}
