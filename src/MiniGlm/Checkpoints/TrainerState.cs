using System.Text.Json.Serialization;

namespace MiniGlm.Checkpoints;

/// Where a run stands: enough, with the optimizer moments, for a resumed run to continue the same loss curve.
/// Batches and dropout are seeded from (seed, iteration), so the iteration is the whole sampler state.
public sealed record TrainerState
{
    [JsonPropertyName("iter")] public int Iter { get; init; }
    [JsonPropertyName("best_val_loss")] public double BestValLoss { get; init; } = double.PositiveInfinity;
    /// The iteration of the last train/val estimate, so a resumed run does not evaluate that iteration twice.
    [JsonPropertyName("last_eval_iter")] public int LastEvalIter { get; init; } = -1;
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    [JsonPropertyName("elapsed_seconds")] public double ElapsedSeconds { get; init; }
    [JsonPropertyName("val_loss")] public double? ValLoss { get; init; }
    /// Iterations with no trained token (an all-masked SFT batch): no update was made.
    [JsonPropertyName("skipped_steps")] public int SkippedSteps { get; init; }
}
