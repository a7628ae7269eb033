using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// A conversation with a model: history, retry, undo, clear. With a chat template (an SFT checkpoint) each user
/// line is a question; without one (a pretrained checkpoint) the model simply continues the running text.
/// What the model sees of the history is the checkpoint's <see cref="PromptBudget"/>, as in the page and the API.
/// An answer stopped or failed before the model finished it stays in <see cref="Turns"/>, marked cut, but is not a
/// turn the model gave: it is left out of the next prompt (retry asks the question again).
public sealed class ChatSession(LoadedModel model)
{
    /// One exchange; Cut when the answer ended before the model finished it (stopped, or generation failed).
    public sealed record Turn(string User, string Assistant, bool Cut);

    private readonly List<Turn> turns = [];
    private readonly PromptBudget budget = PromptBudget.For(model);

    public ChatTemplate? Template => budget.Template;
    /// False for a model trained on single questions: each question is sent on its own.
    public bool MultiTurn => budget.MultiTurn;
    /// Every exchange so far, cut ones included.
    public IReadOnlyList<Turn> Turns => turns;
    /// The exchanges the model sees again: the finished ones.
    public IReadOnlyList<(string User, string Assistant)> History => [.. turns.Where(t => !t.Cut).Select(t => (t.User, t.Assistant))];
    /// Tokens generated for the last answer (for tokens/s figures).
    public int LastAnswerTokens { get; private set; }

    /// Streams the answer to <paramref name="user"/>; the exchange is added when the stream ends, cut unless the model
    /// ended the answer itself or reached max_new_tokens (cancelled, failed, or abandoned by the caller).
    public IEnumerable<string> Send(string user, SamplingOptions options, CancellationToken cancel = default)
    {
        var prompt = Prompt(user, options.MaxNewTokens);
        var answer = new System.Text.StringBuilder();
        LastAnswerTokens = 0;
        bool finished = false;
        try
        {
            foreach (var step in model.Generator.Generate(prompt, options, 1, true, cancel))
            {
                LastAnswerTokens += step.Tokens.Length;
                answer.Append(step.Text[0]);
                finished = step.Finished[0] || LastAnswerTokens >= options.MaxNewTokens;
                if (step.Text[0].Length > 0) yield return step.Text[0];
            }
        }
        finally { turns.Add(new Turn(user, answer.ToString(), Cut: !finished)); }
    }

    /// Regenerates the last answer, cut or not (with the caller's options, e.g. another seed).
    public IEnumerable<string> Retry(SamplingOptions options, CancellationToken cancel = default)
    {
        if (turns.Count == 0) throw new MiniGlmException("nothing to retry yet");
        var user = turns[^1].User;
        turns.RemoveAt(turns.Count - 1);
        return Send(user, options, cancel);
    }

    public bool Undo()
    {
        if (turns.Count == 0) return false;
        turns.RemoveAt(turns.Count - 1);
        return true;
    }

    public void Clear() => turns.Clear();

    /// The tokens the model is given to answer <paramref name="user"/> after the finished exchanges so far.
    public List<int> Prompt(string user, int maxNewTokens) => budget.Chat(History, user, null, maxNewTokens);
}
