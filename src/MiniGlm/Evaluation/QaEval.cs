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
        var template = model.Config.ChatTemplate ?? ChatTemplate.Seed;
        var scores = new List<AnswerScore>(items.Count);
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            var prompt = Prompt(template, model.Tokenizer, item);
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
            scores.Add(AnswerScore.Of(item, text.ToString(), tokens, clock.Elapsed.TotalSeconds, truncated, settings));
            answered?.Invoke(scores.Count);
        }
        return scores;
    }

    /// The tokens the model continues: the history with reference answers, then the question.
    public static List<int> Prompt(ChatTemplate template, TextTokenizer tokenizer, QaItem item) =>
        template.Render(tokenizer, [.. item.History.Select(h => (h.User, (string?)h.Assistant)), (item.Question, null)]);
}
