using System.Text.Json.Serialization;

namespace MiniGlm.Evaluation;

/// One evaluation question with its reference answer. Type groups questions in the report (e.g. who_wrote,
/// next_line); Key is the fact a correct answer must contain (e.g. the poet's name for who_wrote). History holds the
/// earlier exchanges of a conversation, asked before the question with their reference answers (empty for a single
/// question).
public sealed record QaItem(string Question, string Answer, string? Type, string? Key, string File, int Line)
{
    public const string NoType = "(untyped)";
    public string TypeOrDefault => string.IsNullOrEmpty(Type) ? NoType : Type;
    public IReadOnlyList<Exchange> History { get; init; } = [];
}

/// A question and its answer earlier in a conversation.
public sealed record Exchange([property: JsonPropertyName("user")] string User, [property: JsonPropertyName("assistant")] string Assistant);
