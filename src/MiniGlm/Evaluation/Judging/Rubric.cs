namespace MiniGlm.Evaluation.Judging;

/// The prompts the judge is sent. A rubric file replaces the graded one; its placeholders are {question} (with the
/// earlier turns of its conversation, if any), {reference} and {answer}, and the reply must still be the JSON line
/// asked for here. The pairwise prompt has {question}, {reference}, {answer_a} and {answer_b}.
public static class Rubric
{
    public const string Graded = """
        You are grading one answer of a small chat model against a reference answer.

        Question: {question}
        Reference answer: {reference}
        Model's answer: {answer}

        Correctness, judged against the reference (facts count, wording does not):
        - correct: says what the reference says (it may say more, if nothing it adds is wrong)
        - partly: some of the reference's facts, or right with a wrong detail
        - wrong: contradicts the reference, answers something else, or says nothing useful
        Fluency, from 1 (broken, repetitive or garbled) to 5 (natural and well formed).

        Reply with one line of JSON and nothing else:
        {"verdict": "correct|partly|wrong", "fluency": 1-5, "reason": "one short sentence"}
        """;

    public const string Pairwise = """
        Two assistants answered the same question. Decide which answer is better: first by correctness against the
        reference answer, then by fluency. Say "tie" when neither is better.

        Question: {question}
        Reference answer: {reference}
        Answer A: {answer_a}
        Answer B: {answer_b}

        Reply with one line of JSON and nothing else:
        {"winner": "A|B|tie", "reason": "one short sentence"}
        """;

    /// A rubric file's text; it must use the placeholders the graded prompt needs.
    public static string Load(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: no such rubric file");
        var text = File.ReadAllText(path);
        var missing = new[] { "{question}", "{reference}", "{answer}" }.Where(p => !text.Contains(p, StringComparison.Ordinal)).ToList();
        if (missing.Count > 0)
            throw new MiniGlmException($"{path}: a rubric must contain {string.Join(", ", missing)} (where the question, reference and answer go)");
        return text;
    }

    public static string Fill(string template, params (string Name, string Value)[] values)
    {
        // One pass, so a value that happens to contain "{answer}" is not filled in again.
        var names = values.ToDictionary(v => "{" + v.Name + "}", v => v.Value);
        return System.Text.RegularExpressions.Regex.Replace(template, @"\{[a-z_]+\}", m => names.TryGetValue(m.Value, out var v) ? v : m.Value);
    }
}
