using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// A conversation with a model: history, retry, undo, clear. With a chat template (an SFT checkpoint) each user
/// line is a question; without one (a pretrained checkpoint) the model simply continues the running text.
/// What the model sees of the history is the checkpoint's <see cref="PromptBudget"/>, as in the page and the API.
public sealed class ChatSession(LoadedModel model)
{
    private readonly List<(string User, string Assistant)> history = [];
    private readonly PromptBudget budget = PromptBudget.For(model);

    public ChatTemplate? Template => budget.Template;
    /// False for a model trained on single questions: each question is sent on its own.
    public bool MultiTurn => budget.MultiTurn;
    public IReadOnlyList<(string User, string Assistant)> History => history;
    /// Tokens generated for the last answer (for tokens/s figures).
    public int LastAnswerTokens { get; private set; }

    /// Streams the answer to <paramref name="user"/>; the exchange is added to the history when the stream ends.
    public IEnumerable<string> Send(string user, SamplingOptions options, CancellationToken cancel = default)
    {
        var prompt = Prompt(user, options.MaxNewTokens);
        var answer = new System.Text.StringBuilder();
        LastAnswerTokens = 0;
        foreach (var step in model.Generator.Generate(prompt, options, 1, true, cancel))
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

    /// The tokens the model is given to answer <paramref name="user"/> after the history so far.
    public List<int> Prompt(string user, int maxNewTokens) => budget.Chat(history, user, null, maxNewTokens);
}
