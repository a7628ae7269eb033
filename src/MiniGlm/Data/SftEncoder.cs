using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Data;

/// One encoded example: its token ids and, per token, whether it is an answer token (or an answer's closing
/// end-of-text), i.e. a token the model is trained to produce.
public sealed record SftSequence(int[] Ids, bool[] IsAnswer, bool Truncated)
{
    public int Length => Ids.Length;

    /// The loss mask aligned with the targets: with x = Ids[0..n-1) and y = Ids[1..n), mask[t] = IsAnswer[t + 1],
    /// so the prediction made from position t counts iff the token it predicts is an answer token. This is the
    /// only place the shift happens; every file layout copies it.
    public bool[] TargetMask()
    {
        var mask = new bool[Math.Max(0, Ids.Length - 1)];
        for (int t = 0; t < mask.Length; t++) mask[t] = IsAnswer[t + 1];
        return mask;
    }
}

/// Turns a conversation into tokens with a chat template: per turn `PromptText(Q)` (not learned), then the answer
/// and end-of-text (learned). A system text (`SystemText`, not learned) goes in front of the first question. Examples longer than
/// block_size + 1 tokens lose the tail of their last answer; one whose prompts leave no room for an answer token
/// is rejected rather than having its question cut.
public sealed class SftEncoder(TextTokenizer tokenizer, ChatTemplate template, int blockSize)
{
    public const string QuestionTooLong = "question longer than block_size";

    /// Tokens per row: block_size inputs plus the one extra target.
    public int MaxTokens => blockSize + 1;

    /// The encoded example, or null with the reason it was skipped.
    public SftSequence? Encode(SftExample example, out string? skipReason)
    {
        var ids = new List<int>();
        var answer = new List<bool>();
        int lastAnswerStart = 0;
        if (!string.IsNullOrEmpty(example.System)) Add(tokenizer.Encode(ChatTemplate.SystemText(example.System)), false);
        foreach (var turn in example.Turns)
        {
            Add(tokenizer.Encode(template.PromptText(turn.User)), false);
            lastAnswerStart = ids.Count;
            Add(tokenizer.Encode(turn.Assistant), true);
            ids.Add(tokenizer.EotId); answer.Add(true);
        }
        skipReason = null;
        if (ids.Count <= MaxTokens) return new SftSequence([.. ids], [.. answer], Truncated: false);
        // Keep at least one answer token: a model trained on a prompt alone learns nothing from it.
        if (lastAnswerStart + 1 > MaxTokens)
        {
            skipReason = QuestionTooLong;
            return null;
        }
        return new SftSequence(ids.GetRange(0, MaxTokens).ToArray(), answer.GetRange(0, MaxTokens).ToArray(), Truncated: true);

        void Add(IReadOnlyList<int> tokens, bool isAnswer)
        {
            ids.AddRange(tokens);
            for (int k = 0; k < tokens.Count; k++) answer.Add(isAnswer);
        }
    }
}
