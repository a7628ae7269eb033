using System.Globalization;
using MiniGlm.Questions;

namespace MiniGlm.Evaluation;

/// How one checkpoint did on one file's refusals: questions about what it has not read (refuse_* types) refused
/// or answered anyway, and questions about what it read (any other keyed type) refused by mistake.
public sealed record RefusalCounts(string File, int Unread, int RightRefusals, int Read, int WrongRefusals)
{
    public int AnsweredInstead => Unread - RightRefusals;

    public static List<RefusalCounts> Of(IReadOnlyList<QuestionResult> questions, int checkpoint) =>
        questions.GroupBy(q => q.File).Select(g =>
        {
            var unread = g.Where(IsUnread).ToList();
            var read = g.Where(q => !IsUnread(q) && q.Key is not null).ToList();
            return new RefusalCounts(g.Key, unread.Count, unread.Count(q => q.Answers[checkpoint].Refusal),
                read.Count, read.Count(q => q.Answers[checkpoint].Refusal));
        }).ToList();

    public static bool IsUnread(QuestionResult q) => q.Type?.StartsWith(PoetryRefusals.TypePrefix, StringComparison.Ordinal) == true;
}

/// Key match of follow-up questions (follow_* types) by kind of reference, and how often the prompt lost the turn
/// the follow-up refers to (history_kept 0).
public sealed record FollowUpCounts(string Type, int Count, int KeyMatches, int PreviousTurnCut)
{
    public static List<FollowUpCounts> Of(IReadOnlyList<QuestionResult> questions, int checkpoint)
    {
        var follow = questions.Where(q => q.Type?.StartsWith("follow_", StringComparison.Ordinal) == true).ToList();
        FollowUpCounts Row(string type, List<QuestionResult> g) => new(type, g.Count,
            g.Count(q => q.Answers[checkpoint].KeyMatch == true), g.Count(q => q.Answers[checkpoint].HistoryKept == 0));
        return follow.Count == 0 ? []
            : [.. follow.GroupBy(q => q.Type!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(g.Key, g.ToList())), Row("all", follow)];
    }
}

/// The report's sections on talking like people talk: follow-ups by kind of reference, and refusals.
internal static class TalkReport
{
    public static IEnumerable<ReportSection> Sections(EvalResults r)
    {
        var follow = r.Checkpoints.Select((c, i) => (c.Name, Rows: FollowUpCounts.Of(r.Questions, i))).Where(c => c.Rows.Count > 0).ToList();
        if (follow.Count > 0)
        {
            var section = new ReportSection("follow-ups", "Follow-ups",
                "The last question leans on the turn before (「背一下」, 「他还写过什么」, 「下一句呢？」, 「第三句是什么？」), by kind of " +
                "reference: poem, poet, line, ordinal. Previous turn cut: the prompt (the chat's history rule at this context) lost it.");
            section.Tables.Add(new ReportTable(["type · checkpoint", "n", "key match", "previous turn cut"],
                follow.SelectMany(c => c.Rows.Select(f => Row($"{f.Type} · {c.Name}", N(f.Count), Share(f.KeyMatches, f.Count), Share(f.PreviousTurnCut, f.Count)))).ToList()));
            yield return section;
        }
        var refusals = r.Checkpoints.Select((c, i) => (c.Name, Rows: RefusalCounts.Of(r.Questions, i))).ToList();
        if (refusals.Any(c => c.Rows.Any(f => f.Unread > 0)))
        {
            var section = new ReportSection("refusals", "Refusals",
                "Questions about poems, poets and lines it has not read should be refused (「我没有读过…」): right refusal, or a wrong " +
                "answer instead. Questions about what it read should be answered: a refusal there is a wrong refusal of a known fact.");
            section.Tables.Add(new ReportTable(["file · checkpoint", "not read", "right refusal", "answered instead", "read", "wrong refusal"],
                refusals.SelectMany(c => c.Rows.Select(f => Row($"{f.File} · {c.Name}", N(f.Unread),
                    f.Unread == 0 ? "–" : Share(f.RightRefusals, f.Unread), f.Unread == 0 ? "–" : Share(f.AnsweredInstead, f.Unread),
                    N(f.Read), f.Read == 0 ? "–" : Share(f.WrongRefusals, f.Read)))).ToList()));
            yield return section;
        }
    }

    private static IReadOnlyList<string> Row(params string[] cells) => cells;
    private static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
    private static string Share(int k, int n) => n == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{k} ({(double)k / n:0.0 %})");
}
