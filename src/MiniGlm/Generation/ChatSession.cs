using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// A conversation with a model: history, retry, undo, clear. With a chat template (an SFT checkpoint) each user
/// line is a question; without one (a pretrained checkpoint) the model simply continues the running text.
/// The prompt keeps the newest turns that fit in the context; older ones fall out of the window.
public sealed class ChatSession(Generator generator, ChatTemplate? template)
{
    private readonly List<(string User, string Assistant)> history = [];

    public ChatTemplate? Template => template;
    public IReadOnlyList<(string User, string Assistant)> History => history;
    /// Tokens generated for the last answer (for tokens/s figures).
    public int LastAnswerTokens { get; private set; }

    /// Streams the answer to <paramref name="user"/>; the exchange is added to the history when the stream ends.
    public IEnumerable<string> Send(string user, SamplingOptions options, CancellationToken cancel = default)
    {
        var prompt = Prompt(user, options.MaxNewTokens);
        var answer = new System.Text.StringBuilder();
        LastAnswerTokens = 0;
        foreach (var step in generator.Generate(prompt, options, 1, true, cancel))
        {
            LastAnswerTokens += step.Tokens.Length;
            answer.Append(step.Text[0]);
            if (step.Text[0].Length > 0) yield return step.Text[0];
        }
        history.Add((user, answer.ToString()));
    }

    /// Regenerates the last answer (with the caller's options, e.g. another seed).
    public IEnumerable<string> Retry(SamplingOptions options, CancellationToken cancel = default)
    {
        if (history.Count == 0) throw new MiniGlmException("nothing to retry yet");
        var (user, _) = history[^1];
        history.RemoveAt(history.Count - 1);
        return Send(user, options, cancel);
    }

    public bool Undo()
    {
        if (history.Count == 0) return false;
        history.RemoveAt(history.Count - 1);
        return true;
    }

    public void Clear() => history.Clear();

    private List<int> Prompt(string user, int maxNewTokens)
    {
        var tok = generator.Tokenizer;
        int budget = Math.Max(1, generator.Model.Config.BlockSize - Math.Min(maxNewTokens, generator.Model.Config.BlockSize / 2));
        for (int first = 0; ; first++)
        {
            var ids = Render(tok, history.Skip(first), user);
            if (ids.Count <= budget || first == history.Count) return ids;
        }
    }

    private List<int> Render(TextTokenizer tok, IEnumerable<(string User, string Assistant)> past, string user)
    {
        if (template is not null)
            return template.Render(tok, past.Select(t => (t.User, (string?)t.Assistant)).Append((user, null)));
        var text = string.Concat(past.Select(t => t.User + t.Assistant)) + user;
        var ids = tok.Encode(text).ToList();
        return ids.Count == 0 ? [tok.EotId] : ids;
    }
}
