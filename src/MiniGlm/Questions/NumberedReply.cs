using System.Text.RegularExpressions;

namespace MiniGlm.Questions;

/// Splits a teacher's reply to "1. q1 2. q2 …" into one answer per question. Accepts the usual numberings
/// (`1.`, `1、`, `1)`, `1：`, `**1.**`, `问题1：`, `第1题：`), answers spanning several lines, an echoed question or
/// `答：` before the answer. Numbers only go up: a `1.` inside answer 1 (a list in the answer) is text, not a new
/// answer; a number the reply skips leaves that question unanswered. Without any numbering, a reply of exactly one line per question is taken line by line (the seed's
/// parse). A question whose answer cannot be found gets null.
public static partial class NumberedReply
{
    public static string?[] Parse(string reply, IReadOnlyList<string> questions)
    {
        var answers = new string?[questions.Count];
        var lines = reply.Replace("\r\n", "\n").Split('\n');
        int current = 0; // 1-based number of the answer being read, 0 before the first
        var text = new List<string>();
        void Close()
        {
            if (current > 0) answers[current - 1] = Clean(string.Join("\n", text), questions[current - 1]);
            text.Clear();
        }
        foreach (var line in lines)
        {
            var m = Marker().Match(line);
            if (m.Success && int.Parse(m.Groups[1].Value) is var number && number > current && number <= questions.Count)
            {
                Close();
                current = number;
                text.Add(m.Groups[2].Value);
            }
            else if (current > 0) text.Add(line);
        }
        Close();
        if (current == 0)
        {
            var plain = lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            if (plain.Count == questions.Count)
                for (int i = 0; i < plain.Count; i++) answers[i] = Clean(plain[i], questions[i]);
            else if (questions.Count == 1) answers[0] = Clean(reply, questions[0]);
        }
        return answers;
    }

    /// Trims the answer and removes an echoed question and a leading 答：/答案：/回答：.
    private static string Clean(string answer, string question)
    {
        var a = answer.Trim().Trim('*').Trim();
        var q = question.Trim();
        foreach (var echo in new[] { "问：" + q, "问题：" + q, q })
            if (a.StartsWith(echo, StringComparison.Ordinal)) { a = a[echo.Length..].TrimStart(); break; }
        a = AnswerLabel().Replace(a, "").Trim();
        return a;
    }

    [GeneratedRegex(@"^\s*(?:[#>*\-]+\s*)?(?:\*\*)?(?:问题|第|Q)?\s*(\d{1,3})\s*(?:题)?\s*(?:\*\*)?\s*[.．、:：)）]\s*(?:\*\*)?\s*(.*)$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"^(?:\*\*)?(?:答案|回答|答|A)\s*[:：]\s*(?:\*\*)?")]
    private static partial Regex AnswerLabel();
}
