using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Serving;

/// One message of an OpenAI-style conversation.
public sealed record ChatMessage(string Role, string Content);

/// Builds prompt tokens for the API. A chat model (an SFT checkpoint) gets its own template, system text first;
/// a pretrained model continues the concatenated text. A prompt that would leave no room for the answer is
/// cropped from the left (the oldest tokens go), as nanoGPT crops its context.
public static class ChatPrompt
{
    public static List<int> Chat(TextTokenizer tok, ChatTemplate? template, IReadOnlyList<ChatMessage> messages)
    {
        var ids = new List<int>();
        if (template is null)
        {
            ids.AddRange(tok.Encode(string.Concat(messages.Select(m => m.Content))));
            return ids;
        }
        var system = string.Join("\n", messages.Where(m => m.Role is "system" or "developer").Select(m => m.Content));
        if (system.Length > 0) ids.AddRange(tok.Encode(system + "\n"));
        var turns = new List<(string User, string? Assistant)>();
        foreach (var m in messages)
        {
            if (m.Role == "user") turns.Add((m.Content, null));
            else if (m.Role == "assistant")
            {
                // An assistant message closes the open question (or stands alone as an answer to nothing).
                if (turns.Count > 0 && turns[^1].Assistant is null) turns[^1] = (turns[^1].User, m.Content);
                else turns.Add(("", m.Content));
            }
        }
        if (turns.Count == 0 || turns[^1].Assistant is not null) turns.Add(("", null));
        ids.AddRange(template.Render(tok, turns));
        return ids;
    }

    public static List<int> Completion(TextTokenizer tok, string prompt) => [.. tok.Encode(prompt)];

    /// Keeps the newest tokens so that at least min(maxNewTokens, block/2) positions are left for the answer.
    public static List<int> Crop(List<int> ids, int blockSize, int maxNewTokens, int eotId)
    {
        if (ids.Count == 0) return [eotId]; // an empty prompt starts a fresh document
        int budget = Math.Max(1, blockSize - Math.Min(maxNewTokens, blockSize / 2));
        return ids.Count <= budget ? ids : ids[^budget..];
    }
}
