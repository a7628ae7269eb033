namespace MiniGlm.Questions;

/// One line of a QA file (the shared contract): the question, the answer, the question type (`who_wrote`,
/// `template:3`, …) and the key fact a correct answer must contain. prepare-sft reads Question and Answer.
public sealed record QaPair(string Question, string Answer, string? Type = null, string? Key = null)
{
    /// The text without spaces and punctuation: two questions (or answers) equal under this are the same.
    public static string Comparable(string text)
    {
        var s = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
            if (!char.IsWhiteSpace(c) && !char.IsPunctuation(c) && !char.IsSymbol(c)) s.Append(c);
        return s.ToString();
    }
}
