using System.Text.Json;
using MiniGlm.Data;
using MiniGlm.Evaluation;
using MiniGlm.Model;
using MiniGlm.Checkpoints;

namespace MiniGlm.Tests;

/// Each metric against values worked out by hand.
public class EvaluationMetricTests
{
    [Fact]
    public void RougeL_is_the_course_formula_over_characters()
    {
        // Reference 床前明月光疑是地上霜 (10 units), candidate 明月光照地上 (6): LCS 明月光地上 = 5.
        // R = 5/10, P = 5/6, F(β=1) = 2RP/(R+P) = 0.625; F(β=2) = 5RP/(R+4P) = 0.5434782…
        var s = RougeL.Score("床前明月光，疑是地上霜。", "明月光照地上");
        Assert.Equal(0.5, s.Recall, 12);
        Assert.Equal(5.0 / 6, s.Precision, 12);
        Assert.Equal(0.625, s.F, 12);
        Assert.Equal(5 * 0.5 * (5.0 / 6) / (0.5 + 4 * (5.0 / 6)), RougeL.Score("床前明月光疑是地上霜", "明月光照地上", beta: 2).F, 12);
        // Punctuation and spaces are not units; ASCII words are one unit each, case-folded.
        Assert.Equal(1.0, RougeL.Score("床前，明月光。", "床前 明月光").F, 12);
        Assert.Equal(2.0 / 3, RougeL.Score("Li Bai wrote it", "li BAI").F, 12);
        Assert.Equal(0, RougeL.Score("床前明月光", "").F);
        Assert.Equal(0, RougeL.Score("床前明月光", "春眠不觉晓").F);
    }

    [Fact]
    public void CharF1_counts_shared_characters_as_a_multiset()
    {
        // Reference 明月光明: 明×2 月 光; candidate 明明月: overlap 3. P = 3/3, R = 3/4, F1 = 2·0.75/1.75.
        Assert.Equal(2 * 0.75 / 1.75, CharF1.Score("明月光明", "明明月"), 12);
        // Order does not matter (Rouge-L would give 1/3 here).
        Assert.Equal(1.0, CharF1.Score("甲乙丙", "丙乙甲"), 12);
        Assert.Equal(0, CharF1.Score("甲乙丙", "丁"));
    }

    [Fact]
    public void Repetition_is_the_share_of_repeated_ngrams()
    {
        // 15 characters with period 5: 12 4-grams, 5 distinct → 1 − 5/12.
        Assert.Equal(1 - 5.0 / 12, RepetitionMeasure.Ratio("2021等2021等2021等"), 12);
        Assert.Equal(0, RepetitionMeasure.Ratio("床前明月光，疑是地上霜。"));
        Assert.Equal(0, RepetitionMeasure.Ratio("短"));
        // Whitespace is ignored, punctuation counts: 6 full stops have 3 4-grams, all the same.
        Assert.Equal(1 - 1.0 / 3, RepetitionMeasure.Ratio("。 。 。 。 。 。"), 12);
    }

    [Fact]
    public void Key_match_ignores_width_and_spaces()
    {
        Assert.True(AnswerScore.Contains("这首诗的作者是 李 白。", "李白"));
        Assert.True(AnswerScore.Contains("答案：ＡＢ1", "AB１"));
        Assert.False(AnswerScore.Contains("作者是杜甫", "李白"));
    }

    [Fact]
    public void Perplexity_and_bits_per_char_match_nanogpt_logits()
    {
        // The nanoGPT fixture's logits for row 0 are known; with val.bin = that row plus one token, the single
        // block-16 window predicts ids[1..17) from them.
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nanogpt-reference");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var ids = doc.RootElement.GetProperty("input_ids")[0].EnumerateArray().Select(e => e.GetInt32()).Append(7).ToArray();
        var logits = doc.RootElement.GetProperty("logits")[0].EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        double expected = 0;
        for (int t = 0; t < 16; t++)
        {
            double max = logits[t].Max();
            double logZ = max + Math.Log(logits[t].Sum(v => Math.Exp(v - max)));
            expected += logZ - logits[t][ids[t + 1]];
        }
        expected /= 16;

        using var tmp = new TempDir();
        TokenFile.Write(tmp["val.bin"], ids);
        using var val = TokenFile.Open(tmp["val.bin"]);
        using var model = new GptModel(new GptConfig { NLayer = 2, NHead = 2, NEmbd = 32, BlockSize = 16, VocabSize = 64 });
        ModelWeights.Load(model, Path.Combine(dir, "model.safetensors"));
        var score = LanguageModelEval.Evaluate(model, val, valChars: 34, windows: 100);

        Assert.Equal(1, score.Windows);
        Assert.Equal(16, score.TokensScored);
        Assert.Equal(expected, score.Loss, tolerance: 2e-6);
        Assert.Equal(Math.Exp(expected), score.Perplexity, tolerance: 2e-4);
        Assert.Equal(expected * 17 / 34 / Math.Log(2), score.BitsPerChar, tolerance: 2e-6); // 17 tokens for 34 characters
    }

    [Fact]
    public void Val_windows_are_fixed_evenly_spread_and_disjoint_when_they_fit()
    {
        Assert.Equal([0L, 10, 20], LanguageModelEval.WindowStarts(31, 10, 5)); // 30 targets: exactly 3 windows
        var starts = LanguageModelEval.WindowStarts(1001, 10, 4);
        Assert.Equal([0L, 330, 660, 990], starts); // the last window ends on the last token
        Assert.Equal(starts, LanguageModelEval.WindowStarts(1001, 10, 4));
    }
}
