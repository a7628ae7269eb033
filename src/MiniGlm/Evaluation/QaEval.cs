using System.Diagnostics;
using System.Text;
using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Evaluation;

/// Has a model answer each question, one at a time, in the chat template it was fine-tuned with (a pretrained
/// model, which has none, gets the seed's 问：…\n答：…, so the report shows what fine-tuning changed). A question
/// from a conversation is asked after its history, each earlier question answered with its reference answer.
public static class QaEval
{
    public static List<AnswerScore> Answer(LoadedModel model, IReadOnlyList<QaItem> items, EvalSettings settings,
        Action<int>? answered = null, CancellationToken cancel = default)
    {
        var budget = Budget(model);
        var scores = new List<AnswerScore>(items.Count);
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            var (prompt, kept) = budget.Compose([.. item.History.Select(h => (h.User, h.Assistant))], item.Question, null, settings.Sampling.MaxNewTokens);
            var text = new StringBuilder();
            int tokens = 0;
            bool finished = false;
            var clock = Stopwatch.StartNew();
            foreach (var step in model.Generator.Generate(prompt, settings.Sampling, 1, cancel: cancel))
            {
                tokens += step.Tokens.Length;
                text.Append(step.Text[0]);
                finished = step.Finished[0];
            }
            cancel.ThrowIfCancellationRequested();
            bool truncated = !finished && tokens >= settings.Sampling.MaxNewTokens;
            scores.Add(AnswerScore.Of(item, text.ToString(), tokens, clock.Elapsed.TotalSeconds, truncated, settings) with
            {
                HistoryKept = item.History.Count == 0 ? null : kept,
            });
            answered?.Invoke(scores.Count);
        }
        return scores;
    }

    /// The chat rule (PromptBudget) of the checkpoint, so eval scores what chat and the page would send; a
    /// pretrained model is asked in the seed's template.
    public static PromptBudget Budget(LoadedModel model) => new(model.Tokenizer, model.Config.ChatTemplate ?? ChatTemplate.Seed,
        model.Config.ChatTurns, model.Config.Model.BlockSize);

    /// The tokens the model continues: the history with reference answers (as many turns as the model was trained
    /// with, within its context), then the question.
    public static List<int> Prompt(PromptBudget budget, QaItem item, int maxNewTokens) =>
        budget.Chat([.. item.History.Select(h => (h.User, h.Assistant))], item.Question, null, maxNewTokens);
}
