using MiniGlm.Plots;
using MiniGlm.Model;
using System.Globalization;

namespace MiniGlm.Evaluation;

/// A table of plain-text cells; the renderers escape them.
public sealed record ReportTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, string? Caption = null);

/// One section of the report: an anchor id, a title, a paragraph, tables and images.
public sealed record ReportSection(string Id, string Title, string? Text = null)
{
    public List<ReportTable> Tables { get; } = [];
    public List<EvalChart> Images { get; } = [];
}

/// What the report says, independent of format, so report.md and report.html cannot disagree: the settings, the
/// checkpoints, the language-modelling and QA figures (overall, per file, per question type), speed, loss curves,
/// charts, answers side by side and the malformed lines.
public static class ReportContent
{
    public static List<ReportSection> Build(EvalResults r, IReadOnlyList<EvalChart> charts, EvalChart? lossCurves, string? lossNote)
    {
        var names = r.Checkpoints.Select(c => c.Name).ToList();
        var sections = new List<ReportSection>();
        var s = r.Settings;

        var settings = new ReportSection("settings", "Settings",
            $"Created {r.Created:yyyy-MM-dd HH:mm} UTC. " + (s.IsGreedy
                ? $"Greedy decoding (reproducible), at most {s.MaxNewTokens} new tokens per answer"
                : $"Sampled decoding: temperature {F(s.Temperature)}, top_k {s.TopK}, top_p {F(s.TopP)}, repetition_penalty {F(s.RepetitionPenalty)}, seed {s.Seed}, at most {s.MaxNewTokens} new tokens") +
            $"{(s.Dtype == InferenceDtype.Float32 ? "" : $", {s.Dtype} inference weights")}. Rouge-L with β = {F(s.RougeBeta)} over characters (punctuation and spaces left out); " +
            $"an answer is repetitive when ≥ {s.RepetitionThreshold:P0} of its {s.RepetitionN}-grams repeat an earlier one." +
            (s.Limit is null ? "" : $" {s.Limit} questions of each file, taken in turn from each question type."));
        if (r.Dataset is { } d)
            settings.Tables.Add(new ReportTable(["dataset", "tokenizer", "val tokens", "val chars", "windows scored"],
                [[d.Path, d.Tokenizer, N(d.ValTokens), N(d.ValChars), $"up to {s.LmWindows} × block_size"]]));
        if (r.QaFiles.Count > 0)
            settings.Tables.Add(new ReportTable(["QA file", "lines", "questions", "malformed", "SHA-256"],
                r.QaFiles.Select(f => Row(f.Path, N(f.Lines), N(f.ItemCount), N(f.Malformed), f.Sha256[..16])).ToList()));
        sections.Add(settings);

        var ckpts = new ReportSection("checkpoints", "Checkpoints");
        ckpts.Tables.Add(new ReportTable(["checkpoint", "directory", "iter", "parameters", "shape", "chat template", "weights SHA-256"],
            r.Checkpoints.Select(c => Row(c.Name, c.Path, N(c.Iter), $"{c.Parameters / 1e6:0.00}M",
                $"{c.Model.NLayer}×{c.Model.NEmbd}, {c.Model.NHead} heads, block {c.Model.BlockSize}",
                c.ChatTemplate is null ? "none (pretrained)" : $"{c.ChatTemplate.UserPrefix}…{c.ChatTemplate.AssistantPrefix}…",
                c.WeightsSha256[..16])).ToList()));
        var notes = r.Checkpoints.SelectMany(c => c.Notes.Select(n => Row(c.Name, n))).ToList();
        if (notes.Count > 0) ckpts.Tables.Add(new ReportTable(["checkpoint", "note"], notes));
        sections.Add(ckpts);

        if (r.Dataset is not null)
        {
            var lm = new ReportSection("language-modelling", "Language modelling",
                "On the val split. Bits per character (loss × tokens per character / ln 2) compares models whatever their tokenizer.");
            lm.Tables.Add(new ReportTable(["checkpoint", "val loss", "perplexity", "bits/char", "tokens scored", "seconds"],
                r.Checkpoints.Select(c => c.LanguageModel is { } m
                    ? Row(c.Name, F3(m.Loss), F(m.Perplexity), F3(m.BitsPerChar), $"{N(m.TokensScored)} ({m.Windows} × {m.BlockSize})", $"{m.Seconds:0.0}")
                    : Row(c.Name, "–", "–", "–", "–", "–")).ToList()));
            sections.Add(lm);
        }

        if (r.Questions.Count > 0)
        {
            var qa = new ReportSection("question-answering", "Question answering",
                "Rouge-L F and char F1 against the reference answer (0–1); key match: the key fact appears in the answer. " +
                "Failures: empty answer, broken characters (U+FFFD), repetitive, truncated at max_new_tokens.");
            qa.Tables.Add(SummaryTable("checkpoint", r.Checkpoints.Select(c => (c.Name, c.Qa!))));
            foreach (var file in r.QaFiles)
                qa.Tables.Add(SummaryTable("checkpoint", r.Checkpoints.Select(c => (c.Name, c.QaFiles.First(f => f.Path == file.Path).All))) with { Caption = file.Path });
            sections.Add(qa);

            var types = new ReportSection("per-type", "Per question type");
            foreach (var file in r.QaFiles)
            {
                var rows = r.Checkpoints.First().QaFiles.First(f => f.Path == file.Path).Types.Keys
                    .SelectMany(t => r.Checkpoints.Select(c => ($"{t} · {c.Name}", c.QaFiles.First(f => f.Path == file.Path).Types[t])));
                types.Tables.Add(SummaryTable("type · checkpoint", rows) with { Caption = file.Path });
            }
            sections.Add(types);

            var turns = r.Checkpoints.Select((c, i) => (c.Name, Rows: MultiTurnComparison.Of(r.Questions, i))).Where(c => c.Rows.Count > 0).ToList();
            if (turns.Count > 0)
            {
                var conversation = new ReportSection("multi-turn", "Alone and in a conversation",
                    "Key match of the same questions asked alone and asked last in a conversation (after earlier questions answered with their reference answers).");
                conversation.Tables.Add(new ReportTable(["type · checkpoint", "pairs", "key match alone", "key match in a conversation", "difference"],
                    turns.SelectMany(c => c.Rows.Select(t => Row($"{t.Type} · {c.Name}", N(t.Pairs), P(t.Alone), P(t.InConversation),
                        $"{100 * (t.InConversation - t.Alone):+0.0;-0.0;0.0} points"))).ToList()));
                sections.Add(conversation);
            }

            sections.AddRange(TalkReport.Sections(r));

            var speed = new ReportSection("speed", "Speed", "Generation during this evaluation, one question at a time (prompt prefill included).");
            speed.Tables.Add(new ReportTable(["checkpoint", "answers", "tokens generated", "seconds", "tokens/s", "ms/token"],
                r.Checkpoints.Select(c => Row(c.Name, N(c.Qa!.Count), N(c.Qa.Tokens), $"{c.Qa.Seconds:0.0}", $"{c.Qa.TokensPerSec:0.0}",
                    c.Qa.Tokens > 0 ? $"{1000 * c.Qa.Seconds / c.Qa.Tokens:0.0}" : "–")).ToList()));
            sections.Add(speed);
        }

        sections.AddRange(Judging.JudgeReport.Sections(r));

        var loss = new ReportSection("loss-curves", "Loss curves", lossNote);
        if (lossCurves is not null) loss.Images.Add(lossCurves);
        sections.Add(loss);

        var chartSection = new ReportSection("charts", "Charts", charts.Count == 0 ? "No charts: nothing measured for every checkpoint." : null);
        chartSection.Images.AddRange(charts);
        sections.Add(chartSection);

        if (r.Questions.Count > 0)
        {
            var samples = new ReportSection("samples", "Sample answers",
                $"{Math.Min(s.Samples, r.Questions.Count)} of {r.Questions.Count} questions, taken in turn from each file and question type; Rouge-L F in brackets.");
            samples.Tables.Add(new ReportTable(["question", "reference", .. names],
                Sample(r.Questions, s.Samples).Select(q => (IReadOnlyList<string>)[
                    $"{(q.History is null ? "" : $"(after {q.History.Count} earlier question{(q.History.Count == 1 ? "" : "s")}) ")}{q.Question}\n({q.TypeOrUntyped()}{(q.Key is null ? "" : $", key: {q.Key}")})", q.Reference,
                    .. q.Answers.Select(a => $"{(a.Empty ? "(empty)" : a.Answer)}\n[{F3(a.RougeL)}{Flags(a)}]")]).ToList()));
            sections.Add(samples);
        }

        var problems = r.QaFiles.SelectMany(f => f.Problems).ToList();
        var malformed = new ReportSection("malformed", "Malformed lines",
            problems.Count == 0 ? "None: every line of every QA file was a question." : $"{problems.Count} line(s) skipped.");
        if (problems.Count > 0) malformed.Tables.Add(new ReportTable(["file:line: reason"], problems.Take(100).Select(p => Row(p)).ToList()));
        sections.Add(malformed);
        return sections;
    }

    private static ReportTable SummaryTable(string first, IEnumerable<(string Name, QaSummary S)> rows) =>
        new([first, "n", "Rouge-L F", "char F1", "key match", "empty", "U+FFFD", "repetitive", "truncated", "mean chars"],
            rows.Select(p => Row(p.Name, N(p.S.Count), F3(p.S.RougeL), F3(p.S.CharF1),
                p.S.KeyMatch is { } k ? $"{P(k)} of {p.S.KeyedCount}" : "–",
                P(p.S.EmptyRate), P(p.S.BrokenRate), P(p.S.RepetitiveRate), P(p.S.TruncatedRate), $"{p.S.MeanAnswerChars:0.0}")).ToList());

    /// Questions in turn from each (file, type) group, in file order, so every kind of question is shown.
    internal static List<QuestionResult> Sample(IReadOnlyList<QuestionResult> questions, int count)
    {
        var groups = questions.GroupBy(q => (q.File, q.TypeOrUntyped())).Select(g => new Queue<QuestionResult>(g)).ToList();
        var picked = new List<QuestionResult>();
        while (picked.Count < count && groups.Any(g => g.Count > 0))
            foreach (var g in groups.Where(g => g.Count > 0))
                if (picked.Count < count) picked.Add(g.Dequeue());
        return picked;
    }

    private static string TypeOrUntyped(this QuestionResult q) => string.IsNullOrEmpty(q.Type) ? QaItem.NoType : q.Type;

    private static string Flags(AnswerScore a) => string.Concat(
        a.KeyMatch is { } k ? (k ? ", key ✓" : ", key ✗") : "", a.Broken ? ", U+FFFD" : "", a.Repetitive ? ", repetitive" : "", a.Truncated ? ", truncated" : "");

    private static IReadOnlyList<string> Row(params string[] cells) => cells;
    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
    private static string P(double v) => v.ToString("0.0 %", CultureInfo.InvariantCulture);
}
