using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.IO;

namespace MiniGlm.Questions;

/// What `sft-data build` wrote, written as OUT.summary.json beside the output: counts per question type and per
/// template (phrasing), the held-out set sizes, the conversations, and what was skipped or dropped, by reason.
public sealed record SftDataSummary
{
    [JsonPropertyName("output")] public required string Output { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("questions")] public int Questions { get; init; }
    [JsonPropertyName("per_type")] public SortedDictionary<string, int> PerType { get; init; } = [];
    [JsonPropertyName("per_template")] public SortedDictionary<string, int> PerTemplate { get; init; } = [];
    [JsonPropertyName("heldout_paraphrase")] public int? HeldOutParaphrase { get; init; }
    [JsonPropertyName("heldout_unseen")] public int? HeldOutUnseen { get; init; }
    [JsonPropertyName("heldout_multiturn")] public int? HeldOutMultiTurn { get; init; }
    [JsonPropertyName("conversations")] public int? Conversations { get; init; }
    [JsonPropertyName("heldout_followup")] public int? HeldOutFollowUp { get; init; }
    [JsonPropertyName("heldout_unread")] public int? HeldOutUnread { get; init; }
    /// The types of the conversations' turns after the first (follow_poem, follow_poet, … for the short forms).
    [JsonPropertyName("conversation_types")] public SortedDictionary<string, int> ConversationTypes { get; init; } = [];
    [JsonPropertyName("conversation_turns")] public SortedDictionary<string, int> ConversationTurns { get; init; } = [];
    /// The poems a person asks about first and the question types trained on each.
    [JsonPropertyName("famous")] public SortedDictionary<string, string>? Famous { get; init; }
    /// Facts or questions not asked, by reason (ambiguous in the data, too long, not sampled).
    [JsonPropertyName("skipped")] public SortedDictionary<string, int> Skipped { get; init; } = [];
    /// Teacher answers thrown away, by reason (this run only: a rerun asks them again).
    [JsonPropertyName("dropped")] public SortedDictionary<string, int> Dropped { get; init; } = [];
    [JsonPropertyName("seconds")] public double Seconds { get; init; }

    public static string PathFor(string output) => Path.ChangeExtension(output, null) + ".summary.json";

    public static SortedDictionary<string, int> Count(IEnumerable<string> keys) =>
        new(keys.GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    public void Write() => AtomicFile.WriteAllText(PathFor(Output), JsonSerializer.Serialize(this,
        new JsonSerializerOptions(QaWriter.Json) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull }));
}
