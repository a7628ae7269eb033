using System.Text.Json;
using MiniGlm.Checkpoints;
using MiniGlm.Cli.LlamaCpp;
using MiniGlm.Generation;
using MiniGlm.Interop.Gguf;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using Xunit.Abstractions;

namespace MiniGlm.Tests;

/// Same ids everywhere: our tokenizer, Hugging Face's (transformers.js AutoTokenizer reading our tokenizer.json) and
/// llama.cpp's (reading our GGUF) give identical ids on every text below, for GPT-2's tokenizer and a trained one.
/// A trained tokenizer pre-tokenizes as llama.cpp's `llama-bpe`; one of the old Han-pair pattern is exported with
/// that name too, and llama.cpp then differs from it on Chinese (the documented fallback).
public class TokenizerAgreementTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// Chinese, English, digits, emoji, other scripts, whitespace runs, line ends and our chat template's pieces.
    public static readonly string[] Texts =
    [
        "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n",
        "问：床前明月光的下一句是什么？\n答：", "疑是地上霜。", "问：", "\n答：", "你是诗人\n", "问：静夜思是谁写的？\n答：", "李白",
        "宋太祖赵匡胤（九二七～九七六），涿州人。《全唐诗》卷一百六十五：“白日依山尽”……",
        "The quick brown fox jumps over the lazy dog. It's 1999; I'M here, they'll go — we'd've? 'S 'Ll 'RE",
        "1234567890 3.14159 2024年10月1日 第12345678句 ①②③ ½ ² Ⅷ ٣٤٥ १२३",
        "好的😊谢谢👍🏻 🇨🇳 ❤️ 👨‍👩‍👧 😀abc ✨✨ 🤗", "Ελληνικά русский текст العربية हिन्दी नमस्ते 日本語のかなとカタカナ 한국어 café naïve Ångström",
        "𠀋𡵚𠮷野家 𝐇𝐞𝐥𝐥𝐨 𝟏𝟐𝟑 𠀋，𠀋。", "a  b   c\t\td \u3000全角空格\u00A0nbsp    \n\n\n   end   ", "line1\r\nline2\n\n\nline3\n  \n \r\n",
        "   leading spaces", "trailing spaces   ", "\n", " ", "", "''''", "!!!???。。。，，，", "<|endoftext|>",
        new string('春', 300) + "，" + string.Concat(Enumerable.Repeat("白日依山尽黄河入海流", 40)),
    ];

    [SkippableFact]
    public void Ours_transformers_js_and_llama_cpp_give_the_same_ids_with_gpt2()
    {
        NodeCheckers.Require();
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var (hf, llama) = Compare(TextTokenizer.Load(TokenizerSpec.Gpt2));
        Assert.Empty(hf);
        Assert.Empty(llama);
    }

    [SkippableFact]
    public void Ours_transformers_js_and_llama_cpp_give_the_same_ids_with_a_trained_tokenizer()
    {
        NodeCheckers.Require();
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var tok = Train(PreTokenPattern.Default);
        Assert.Equal("llama-bpe", GgufExport.PreTokenizer(tok.Spec));
        var (hf, llama) = Compare(tok);
        Assert.Empty(hf);
        Assert.Empty(llama);
    }

    /// A tokenizer trained before (Han pairs, matched on UTF-16 units) keeps the ids it was trained with. Its
    /// exports carry the same pattern, but Hugging Face matches it on code points, so a character beyond the BMP
    /// (𠀋) is cut differently; llama.cpp, which has no Han-pair pre-tokenizer, cuts whole Han runs.
    [SkippableFact]
    public void An_old_han_pair_tokenizer_differs_in_transformers_js_beyond_the_bmp_and_in_llama_cpp_on_chinese()
    {
        NodeCheckers.Require();
        OutsideCheck.Ran(OutsideCheck.LlamaCpp);
        var tok = Train(PreTokenPattern.HanPairs);
        Assert.Contains("Han pairs", tok.Spec.ToString());
        var (hf, llama) = Compare(tok);
        Assert.Equal(Texts.Where(t => t.Any(char.IsSurrogate)).Where(hf.Contains), hf);
        Assert.Contains(Texts[0], llama);
        Assert.DoesNotContain(Texts[9], llama); // English
    }

    /// Trains a small tokenizer on the texts themselves (so it has multi-byte tokens for every script in them).
    private TextTokenizer Train(string pattern)
    {
        var corpus = string.Concat(Enumerable.Repeat(string.Concat(Texts.Take(Texts.Length - 1)), 5));
        var counts = PreTokenCounter.Count([dir.Write($"corpus-{pattern.GetHashCode():x}.txt", corpus)], pattern).Counts;
        var path = dir[$"tok-{pattern.GetHashCode():x}.tiktoken"];
        TiktokenFile.Write(path, BpeTrainer.Train(counts, 700));
        return TextTokenizer.Load(TiktokenFile.Describe(path) with { Pattern = pattern });
    }

    /// Exports the tokenizer (in a tiny random model) to Hugging Face and GGUF and encodes every text with the three;
    /// returns the texts on which transformers.js and llama.cpp gave other ids than ours.
    private (List<string> Hf, List<string> LlamaCpp) Compare(TextTokenizer tok)
    {
        var ckpt = dir[$"ckpt-{tok.Spec.Sha256 ?? "gpt2"}"];
        using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 1, NEmbd = 32, BlockSize = 16, VocabSize = GptConfig.PadVocab(tok.VocabSize) }))
            CheckpointStore.Save(ckpt, model, new CheckpointConfig { Model = model.Config, Tokenizer = tok.Spec, Train = new TrainConfig(), ChatTemplate = ChatTemplate.Seed },
                new TrainerState(), null);
        var hf = ckpt + "-hf";
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", hf);
        Assert.True(r.Code == 0, r.Err);
        var gguf = ckpt + ".gguf";
        GgufExport.Run(ckpt, gguf, GgufFileType.F32, force: false);

        var texts = dir.Write($"texts-{Guid.NewGuid():N}.json", JsonSerializer.Serialize(Texts));
        var hfIds = NodeCheckers.Run("tokenize", hf, texts).EnumerateArray().Select(a => a.EnumerateArray().Select(i => i.GetInt32()).ToList()).ToList();
        using var llama = new LlamaCppModel(gguf, 16, threads: 1);
        var (hfDiffer, llamaDiffer) = (new List<string>(), new List<string>());
        for (int i = 0; i < Texts.Length; i++)
        {
            var ours = tok.Encode(Texts[i]);
            // transformers.js always reads special-token text as the special token; ours and llama.cpp's keep it text.
            if (Texts[i] != TextTokenizer.EndOfText && !ours.SequenceEqual(hfIds[i])) Report(hfDiffer, "transformers.js", hfIds[i]);
            if (llama.Tokenize(Texts[i]) is var theirs && !ours.SequenceEqual(theirs)) Report(llamaDiffer, "llama.cpp", theirs);

            void Report(List<string> list, string who, IEnumerable<int> ids)
            {
                list.Add(Texts[i]);
                output.WriteLine($"{who} differs on {JsonSerializer.Serialize(Texts[i])}: ours [{string.Join(",", ours)}], {who} [{string.Join(",", ids)}]");
            }
        }
        output.WriteLine($"{tok.Spec}: {Texts.Length} texts; transformers.js differs on {hfDiffer.Count}, llama.cpp ({GgufExport.PreTokenizer(tok.Spec)}) on {llamaDiffer.Count}");
        return (hfDiffer, llamaDiffer);
    }
}
