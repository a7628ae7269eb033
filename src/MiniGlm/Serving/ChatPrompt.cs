using MiniGlm.Generation;

namespace MiniGlm.Serving;

/// One message of an OpenAI-style conversation.
public sealed record ChatMessage(string Role, string Content);

/// Prompt tokens for the API: the messages read as a conversation and cut to the model's context by its
/// <see cref="PromptBudget"/>, exactly as `chat` and the page see it.
public static class ChatPrompt
{
    /// System and developer texts join into one system text; each assistant message answers the user text before
    /// it (user messages in a row are one question, a line each); the open question is the user text after the
    /// last answer ("" when the conversation ends with an answer).
    public static List<int> Chat(PromptBudget budget, IReadOnlyList<ChatMessage> messages, int maxNewTokens)
    {
        var system = string.Join("\n", messages.Where(m => m.Role is "system" or "developer").Select(m => m.Content));
        var history = new List<(string User, string Assistant)>();
        string? open = null;
        foreach (var m in messages)
        {
            if (m.Role == "user") open = open is null ? m.Content : open + "\n" + m.Content;
            else if (m.Role == "assistant")
            {
                history.Add((open ?? "", m.Content));
                open = null;
            }
        }
        return budget.Chat(history, open ?? "", system, maxNewTokens);
    }
}
