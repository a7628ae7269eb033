using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// What of a conversation a model sees: the one rule `chat`, the page and the API share. The context holds
/// block_size tokens, of which min(max_new_tokens, block_size / 2) are left for the answer; the rest is the budget.
///
/// A chat model (with a template) gets the new question, then the system text if it fits, then the newest WHOLE
/// earlier turns that fit, each laid out as in training (`问：Q\n答：A<|endoftext|>`), and never more turns than
/// its SFT data had (max_turns; 1 = a model trained on single questions sees only the last question). A question
/// too long for the budget alone keeps its tail between the template's prefixes. A pretrained model continues the
/// running text: the tail of it that fits.
///
/// Work is bounded by the context, not by the input: a text of n chars needs at least n / MaxTokenBytes tokens, so
/// a piece longer than budget × MaxTokenBytes chars is known not to fit without encoding it, and a tail is encoded
/// from a window of characters that grows only until it holds enough tokens. A 1 MiB prompt costs about what a
/// prompt of one context costs.
public sealed class PromptBudget(TextTokenizer tokenizer, ChatTemplate? template, int maxTurns, int blockSize)
{
    /// Budget for the given checkpoint: its template, its max_turns (absent = 1) and its block_size.
    public static PromptBudget For(LoadedModel model) =>
        new(model.Tokenizer, model.Config.ChatTemplate, model.Config.ChatTurns, model.Config.Model.BlockSize);

    public ChatTemplate? Template => template;
    /// Whether earlier turns are sent at all (a chat model trained on conversations, or a pretrained model).
    public bool MultiTurn => template is null || maxTurns > 1;

    /// Prompt tokens that leave room for an answer of up to maxNewTokens (at least half the context is prompt).
    public int Tokens(int maxNewTokens) => Math.Max(1, blockSize - Math.Min(maxNewTokens, blockSize / 2));

    /// The prompt for the next answer to <paramref name="question"/> after <paramref name="history"/> (oldest first).
    public List<int> Chat(IReadOnlyList<(string User, string Assistant)> history, string question, string? system, int maxNewTokens) =>
        Compose(history, question, system, maxNewTokens).Prompt;

    /// The prompt, and how many of the newest earlier turns it holds (null for a running text): a follow-up such as
    /// 「背一下」 has lost what it refers to when the turn before is not among them.
    public (List<int> Prompt, int? TurnsKept) Compose(IReadOnlyList<(string User, string Assistant)> history, string question, string? system, int maxNewTokens)
    {
        int budget = Tokens(maxNewTokens);
        if (template is null)
            return (Text(string.Concat(history.Select(t => t.User + t.Assistant).Prepend(system ?? "").Append(question)), maxNewTokens), null);

        var questionIds = Fit(template.PromptText(question), budget);
        if (questionIds is null) return (QuestionTail(template, question, budget), 0);
        int left = budget - questionIds.Count;
        var systemIds = string.IsNullOrEmpty(system) ? null : Fit(ChatTemplate.SystemText(system), left);
        left -= systemIds?.Count ?? 0;
        var turns = new List<List<int>>();
        for (int i = history.Count - 1; i >= 0 && i >= history.Count - (maxTurns - 1); i--)
        {
            var (user, assistant) = history[i];
            if (user.Length + assistant.Length > (long)left * tokenizer.MaxTokenBytes) break;
            var ids = Fit(template.PromptText(user), left);
            if (ids is null) break;
            ids.AddRange(ChatTemplate.Answer(tokenizer, assistant));
            if (ids.Count > left) break;
            turns.Add(ids);
            left -= ids.Count;
        }
        var prompt = new List<int>(budget - left);
        if (systemIds is not null) prompt.AddRange(systemIds);
        for (int i = turns.Count - 1; i >= 0; i--) prompt.AddRange(turns[i]);
        prompt.AddRange(questionIds);
        return (prompt, turns.Count);
    }

    /// A raw text prompt (a pretrained model, /v1/completions): its newest tokens that fit; empty starts a fresh
    /// document with end-of-text.
    public List<int> Text(string text, int maxNewTokens) =>
        text.Length == 0 ? [tokenizer.EotId] : Tail(text, Tokens(maxNewTokens));

    /// The tokens of text if they number at most n, else null; text too long to possibly fit is not encoded.
    private List<int>? Fit(string text, int n)
    {
        if (text.Length > (long)n * tokenizer.MaxTokenBytes) return null;
        var ids = tokenizer.Encode(text);
        return ids.Count <= n ? [.. ids] : null;
    }

    /// A question alone over budget: `问：` + the question's last tokens + `\n答：`, so the model still sees where
    /// its answer starts (or, if even the prefixes do not fit, the tail of the whole prompt).
    private List<int> QuestionTail(ChatTemplate t, string question, int budget)
    {
        var prefix = tokenizer.Encode(t.UserPrefix);
        var suffix = tokenizer.Encode(t.AssistantPrefix);
        int room = budget - prefix.Count - suffix.Count;
        if (room < 1) return Tail(t.PromptText(question), budget);
        return [.. prefix, .. Tail(question, room), .. suffix];
    }

    /// The last n tokens of text, encoding only a window of its last characters. The window doubles until it
    /// yields more than n tokens (the first one, possibly cut mid-token by the window, is dropped) or covers the
    /// text; (n + 1) × MaxTokenBytes chars always yield more than n tokens, so that is as far as it grows.
    private List<int> Tail(string text, int n)
    {
        long most = (long)(n + 1) * tokenizer.MaxTokenBytes;
        for (long chars = Math.Min(4L * n + 16, most); ; chars = Math.Min(2 * chars, most))
        {
            int start = (int)Math.Max(0, text.Length - chars);
            if (start > 0 && char.IsLowSurrogate(text[start])) start--; // never split a surrogate pair
            var ids = tokenizer.Encode(text.AsSpan(start));
            if (ids.Count > n || start == 0 || chars == most)
                return ids.Count <= n ? [.. ids] : [.. ids.Skip(ids.Count - n)];
        }
    }
}
