using System.Text.Json.Serialization;
using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// How a question/answer exchange is laid out in tokens; the seed's is `问：{Q}\n答：{A}<|endoftext|>`. It is
/// recorded by prepare-sft and travels in the checkpoint, so chat, serve and eval apply exactly what SFT trained.
public sealed record ChatTemplate
{
    [JsonPropertyName("user_prefix")] public string UserPrefix { get; init; } = "问：";
    [JsonPropertyName("assistant_prefix")] public string AssistantPrefix { get; init; } = "\n答：";

    public static ChatTemplate Seed { get; } = new();

    /// The text that precedes an answer: `{UserPrefix}{user}{AssistantPrefix}`. Prompt and answer are encoded
    /// separately, so training and chat cut tokens the same way.
    public string PromptText(string user) => UserPrefix + user + AssistantPrefix;

    /// A system text goes before the first question, on its own line, encoded on its own (as in training).
    public static string SystemText(string system) => system + "\n";

    /// Tokens of a conversation so far, ending where the assistant's next answer begins. Each finished answer is
    /// closed by end-of-text, as in training.
    public List<int> Render(TextTokenizer tokenizer, IEnumerable<(string User, string? Assistant)> turns)
    {
        var ids = new List<int>();
        foreach (var (user, assistant) in turns)
        {
            ids.AddRange(tokenizer.Encode(PromptText(user)));
            if (assistant is null) break;
            ids.AddRange(Answer(tokenizer, assistant));
        }
        return ids;
    }

    /// An answer's tokens as trained: the text, then end-of-text.
    public static List<int> Answer(TextTokenizer tokenizer, string assistant) => [.. tokenizer.Encode(assistant), tokenizer.EotId];
}
