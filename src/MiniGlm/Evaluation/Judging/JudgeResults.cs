using System.Text.Json.Serialization;

namespace MiniGlm.Evaluation.Judging;

/// The judge's reading of one answer: correct / partly / wrong, fluency 1–5 and its one-line reason; or why there
/// is none (unparseable, refused, failed) with what it said.
public sealed record GradedVerdict
{
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("verdict"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Verdict { get; init; }
    [JsonPropertyName("fluency"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Fluency { get; init; }
    [JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Reason { get; init; }
    /// The reply when it gave no verdict, or the error when the request failed.
    [JsonPropertyName("reply"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Reply { get; init; }

    /// correct 1, partly ½, wrong 0; null without a verdict.
    [JsonIgnore] public double? Score => Verdict switch { "correct" => 1, "partly" => 0.5, "wrong" => 0, _ => null };
}

/// One checkpoint's graded figures over every question.
public sealed record GradedSummary
{
    [JsonPropertyName("checkpoint")] public required string Checkpoint { get; init; }
    [JsonPropertyName("correct")] public int Correct { get; init; }
    [JsonPropertyName("partly")] public int Partly { get; init; }
    [JsonPropertyName("wrong")] public int Wrong { get; init; }
    [JsonPropertyName("unparseable")] public int Unparseable { get; init; }
    [JsonPropertyName("refused")] public int Refused { get; init; }
    [JsonPropertyName("failed")] public int Failed { get; init; }
    /// Mean of correct 1 / partly ½ / wrong 0 over the answers with a verdict; null when none has one.
    [JsonPropertyName("score")] public double? Score { get; init; }
    [JsonPropertyName("fluency")] public double? Fluency { get; init; }
    [JsonIgnore] public int Judged => Correct + Partly + Wrong;
}

/// One question judged with checkpoint A's answer shown first, then with B's first; the outcome is A's: a win
/// only when both orders prefer it, a loss when both prefer B, otherwise a tie (position bias cancels out).
public sealed record PairwiseQuestion
{
    [JsonPropertyName("a_first"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? AFirst { get; init; }
    [JsonPropertyName("b_first"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? BFirst { get; init; }
    /// win, tie or loss for A; null when either order gave no verdict.
    [JsonPropertyName("outcome"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Outcome { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Reason { get; init; }
}

/// Checkpoint A against B over every question.
public sealed record PairwiseSummary
{
    [JsonPropertyName("a")] public required string A { get; init; }
    [JsonPropertyName("b")] public required string B { get; init; }
    [JsonPropertyName("wins")] public int Wins { get; init; }
    [JsonPropertyName("ties")] public int Ties { get; init; }
    [JsonPropertyName("losses")] public int Losses { get; init; }
    /// Questions where the two orders disagreed (counted as ties): the judge's position bias at work.
    [JsonPropertyName("order_disagreements")] public int OrderDisagreements { get; init; }
    [JsonPropertyName("unjudged")] public int Unjudged { get; init; }
    /// A's score: wins + ties / 2 over the judged questions, with a 95 % confidence interval (normal approximation
    /// over the per-question scores 1 / ½ / 0).
    [JsonPropertyName("win_rate")] public double? WinRate { get; init; }
    [JsonPropertyName("ci_low")] public double? CiLow { get; init; }
    [JsonPropertyName("ci_high")] public double? CiHigh { get; init; }
    [JsonPropertyName("questions")] public required IReadOnlyList<PairwiseQuestion> Questions { get; init; }
}

/// What the judge cost: requests sent (a cached prompt sends none), tokens the server counted, retries.
public sealed record JudgeCost
{
    [JsonPropertyName("requests")] public int Requests { get; init; }
    [JsonPropertyName("cached")] public int Cached { get; init; }
    [JsonPropertyName("failed")] public int Failed { get; init; }
    [JsonPropertyName("retried")] public int Retried { get; init; }
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; init; }
    [JsonPropertyName("completion_tokens")] public long CompletionTokens { get; init; }
}

/// Everything the judge said about an evaluation (results.json's "judge").
public sealed record JudgeResults
{
    [JsonPropertyName("url")] public required string Url { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    /// The rubric file, or null for the built-in one.
    [JsonPropertyName("rubric")] public string? RubricFile { get; init; }
    [JsonPropertyName("graded")] public required IReadOnlyList<GradedSummary> Graded { get; init; }
    /// answers[question][checkpoint], in the order of results.json's questions and checkpoints.
    [JsonPropertyName("answers")] public required IReadOnlyList<IReadOnlyList<GradedVerdict>> Answers { get; init; }
    [JsonPropertyName("pairwise")] public IReadOnlyList<PairwiseSummary> Pairwise { get; init; } = [];
    [JsonPropertyName("cost")] public required JudgeCost Cost { get; init; }
    /// The first few distinct failures, one line each.
    [JsonPropertyName("errors")] public IReadOnlyList<string> Errors { get; init; } = [];
}
