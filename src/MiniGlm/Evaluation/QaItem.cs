namespace MiniGlm.Evaluation;

/// One evaluation question with its reference answer. Type groups questions in the report (e.g. who_wrote,
/// next_line); Key is the fact a correct answer must contain (e.g. the poet's name for who_wrote).
public sealed record QaItem(string Question, string Answer, string? Type, string? Key, string File, int Line)
{
    public const string NoType = "(untyped)";
    public string TypeOrDefault => string.IsNullOrEmpty(Type) ? NoType : Type;
}
