using System.Globalization;

namespace MiniGlm.Evaluation.Judging;

/// The report's judge section: graded figures beside key match and Rouge-L, the pairwise comparison, where the
/// judge and the automatic metrics disagree most, and the replies that gave no verdict.
public static class JudgeReport
{
    private const int Examples = 10;

    public static List<ReportSection> Sections(EvalResults r)
    {
        if (r.Judge is not { } j) return [];
        var c = j.Cost;
        var section = new ReportSection("judge", "Judged by a language model",
            $"Judge: {j.Model} at {j.Url}, rubric: {j.RubricFile ?? "built-in"}. Graded: each answer against its question and reference answer, " +
            "correct / partly / wrong and fluency 1–5; the score counts correct 1, partly ½, wrong 0 over the answers with a verdict. " +
            "A reply with no verdict in the asked-for form is counted as unparseable (or refused), never guessed. " +
            $"Cost: {c.Requests} requests ({c.Cached} answered from the cache, {c.Failed} failed, {c.Retried} retried), " +
            $"{N(c.PromptTokens)} prompt + {N(c.CompletionTokens)} completion tokens." +
            (j.Errors.Count == 0 ? "" : $" The judge failed, so this judgement is partial: {string.Join(" | ", j.Errors)}"));
        section.Tables.Add(new ReportTable(
            ["checkpoint", "answers", "key match", "Rouge-L F", "judge: correct", "partly", "wrong", "score", "fluency", "unparseable", "refused", "failed"],
            r.Checkpoints.Zip(j.Graded).Select(p => Row(p.First.Name, N(p.First.Qa?.Count ?? 0),
                p.First.Qa?.KeyMatch is { } k ? $"{P(k)} of {p.First.Qa.KeyedCount}" : "–", p.First.Qa is { } qa ? F3(qa.RougeL) : "–",
                Share(p.Second.Correct, p.Second.Judged), Share(p.Second.Partly, p.Second.Judged), Share(p.Second.Wrong, p.Second.Judged),
                p.Second.Score is { } s ? F3(s) : "–", p.Second.Fluency is { } f ? f.ToString("0.00", CultureInfo.InvariantCulture) : "–",
                N(p.Second.Unparseable), N(p.Second.Refused), N(p.Second.Failed))).ToList(),
            "Graded"));
        if (j.Pairwise.Count > 0)
            section.Tables.Add(new ReportTable(["A vs B", "wins", "ties", "losses", "A's win rate (95 % CI)", "orders disagreed", "unjudged"],
                j.Pairwise.Select(p => Row($"{p.A} vs {p.B}", N(p.Wins), N(p.Ties), N(p.Losses),
                    p.WinRate is { } w ? $"{P(w)}" + (p.CiLow is { } lo ? $" ({P(lo)} – {P(p.CiHigh!.Value)})" : "") : "–",
                    N(p.OrderDisagreements), N(p.Unjudged))).ToList(),
                "Pairwise: every question asked twice, each answer shown first once; a win needs both orders, a split is a tie (ties count ½)"));

        var disagreements = Disagreements(r, j).Take(Examples).ToList();
        section.Tables.Add(new ReportTable(["checkpoint", "question", "reference", "answer", "key match / Rouge-L", "judge"], disagreements,
            disagreements.Count == 0 ? "The judge and the automatic metrics agree on every answer (within ½)"
                : $"Where the judge and the automatic metrics disagree most (key match where the question has a key, else Rouge-L; {disagreements.Count} shown)"));

        var silent = r.Questions.SelectMany((q, qi) => j.Answers[qi].Select((v, ci) => (q, v, ci)))
            .Where(x => x.v.Status != VerdictParser.Ok).Take(Examples).ToList();
        if (silent.Count > 0)
            section.Tables.Add(new ReportTable(["checkpoint", "question", "status", "what came back"],
                silent.Select(x => Row(r.Checkpoints[x.ci].Name, x.q.Question, x.v.Status, x.v.Reply ?? "")).ToList(),
                "Answers without a verdict (first ten)"));
        return [section];
    }

    /// Answers whose judge score (1, ½, 0) is furthest from key match (1, 0) or, for a question without a key, Rouge-L F.
    private static IEnumerable<IReadOnlyList<string>> Disagreements(EvalResults r, JudgeResults j) =>
        r.Questions.SelectMany((q, qi) => q.Answers.Select((a, ci) => (q, a, v: j.Answers[qi][ci], ci)))
            .Where(x => x.v.Score is not null)
            .Select(x => (x, auto: x.a.KeyMatch is { } k ? (k ? 1.0 : 0.0) : x.a.RougeL))
            .Select(p => (p.x, p.auto, gap: Math.Abs(p.x.v.Score!.Value - p.auto)))
            .Where(p => p.gap >= 0.5)
            .OrderByDescending(p => p.gap)
            .Select(p => Row(r.Checkpoints[p.x.ci].Name, p.x.q.Question, p.x.q.Reference, p.x.a.Answer,
                p.x.a.KeyMatch is { } k ? (k ? "key ✓" : "key ✗") : $"Rouge-L {F3(p.auto)}",
                $"{p.x.v.Verdict}, fluency {p.x.v.Fluency}: {p.x.v.Reason}"));

    private static string Share(int n, int of) => of == 0 ? "–" : $"{P((double)n / of)} ({n})";
    private static IReadOnlyList<string> Row(params string[] cells) => cells;
    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    private static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
    private static string P(double v) => v.ToString("0.0 %", CultureInfo.InvariantCulture);
}
