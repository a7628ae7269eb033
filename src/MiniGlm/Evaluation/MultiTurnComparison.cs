namespace MiniGlm.Evaluation;

/// Key match of the same questions asked alone and asked last in a conversation, for one question type (or "all").
public sealed record TurnComparison(string Type, int Pairs, double Alone, double InConversation);

/// Does the history change the answer? Pairs each question asked after a history with the same question (and
/// reference) asked alone elsewhere in the evaluation, as heldout_multiturn.jsonl's last questions are those of
/// heldout_paraphrase.jsonl, and compares their key match per type.
public static class MultiTurnComparison
{
    public static List<TurnComparison> Of(IReadOnlyList<QuestionResult> questions, int checkpoint)
    {
        var alone = questions.Where(q => q.History is null).GroupBy(q => (q.Question, q.Reference)).ToDictionary(g => g.Key, g => g.First());
        var pairs = questions.Where(q => q.History is not null)
            .Select(q => (q, single: alone.GetValueOrDefault((q.Question, q.Reference))))
            .Where(p => p.single is not null && p.q.Answers[checkpoint].KeyMatch is not null && p.single.Answers[checkpoint].KeyMatch is not null)
            .ToList();
        if (pairs.Count == 0) return [];
        TurnComparison Row(string type, IReadOnlyCollection<(QuestionResult InConversation, QuestionResult? Alone)> group) => new(type, group.Count,
            group.Average(p => p.Alone!.Answers[checkpoint].KeyMatch == true ? 1.0 : 0.0),
            group.Average(p => p.InConversation.Answers[checkpoint].KeyMatch == true ? 1.0 : 0.0));
        return [.. pairs.GroupBy(p => p.q.Type ?? QaItem.NoType).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(g.Key, g.ToList())), Row("all", pairs)];
    }
}
