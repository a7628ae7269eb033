using System.Text;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// Training a byte-level BPE tokenizer, loading it through Microsoft.ML.Tokenizers, and carrying it from the
/// dataset into checkpoints.
public class BpeTrainerTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private const string Poem = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n" +
                                "The moon is bright tonight; isn't it? 1234 apples, 56 pears.\n";

    private string TrainTiny(string name = "tok.tiktoken", int vocab = 300)
    {
        var corpus = dir.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Poem, 20)));
        var path = dir[name];
        var r = Cli.Run("tokenizer", "train", "--input", Path.GetDirectoryName(corpus)!, "--vocab_size", vocab.ToString(), "--out", path);
        Assert.True(r.Code == 0, r.Err);
        return path;
    }

    [Fact]
    public void Merges_the_most_frequent_pair_first_and_breaks_ties_by_smaller_ids()
    {
        // ab: 5+3 = 8, bc: 3+1 = 4 → "ab"; then (ab, c): 3 → "abc"; then (b, c): 1 → "bc". Tie between "xy" and
        // "pq" (1 each): the pair with the smaller ids, "pq", goes first.
        var tokens = BpeTrainer.Train(new Dictionary<string, long> { ["ab"] = 5, ["abc"] = 3, ["bc"] = 1, ["xy"] = 1, ["pq"] = 1 }, 261);
        Assert.Equal(["ab", "abc", "bc", "pq", "xy"], tokens.Skip(256).Select(t => Encoding.ASCII.GetString(t)));
    }

    [Fact]
    public void Never_makes_two_tokens_with_the_same_bytes()
    {
        // Random small corpora trained to exhaustion: a merge that rebuilds an existing token's bytes (ab+c after
        // a+bc) must reuse it, or the rank file would hold a token twice.
        var rng = new Random(11);
        for (int trial = 0; trial < 30; trial++)
        {
            var words = Enumerable.Range(0, 12).Select(_ => new string(Enumerable.Range(0, rng.Next(2, 7)).Select(_ => "abc"[rng.Next(3)]).ToArray()))
                .Distinct().ToDictionary(w => w, _ => (long)rng.Next(1, 20));
            var tokens = BpeTrainer.Train(words, 400).Select(Convert.ToBase64String).ToList();
            Assert.Equal(tokens.Count, tokens.Distinct().Count());
        }
    }

    [Fact]
    public void Training_is_deterministic_and_the_file_reloads_identically()
    {
        var a = TrainTiny("a.tiktoken");
        var b = TrainTiny("b.tiktoken");
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        var ta = TextTokenizer.FromFile(a);
        var tb = TextTokenizer.FromFile(b);
        Assert.Equal(300, ta.VocabSize);
        Assert.Equal(ta.Spec, tb.Spec); // same content, different file names
        Assert.Equal(ta.Encode(Poem), tb.Encode(Poem));
        // Trained merges are used: fewer tokens than UTF-8 bytes on the training text.
        Assert.True(ta.Encode(Poem).Count < Encoding.UTF8.GetByteCount(Poem) * 3 / 4);
        // The rank file is tiktoken's format: "base64 rank" per line, the 256 bytes first.
        var lines = File.ReadAllLines(a);
        Assert.Equal(296, lines.Length);
        Assert.Equal("AA== 0", lines[0]);
        Assert.Equal("/w== 255", lines[255]);
    }

    [Theory]
    [InlineData("床前明月光，疑是地上霜。")]
    [InlineData("Mixed 中文 and English, «ελληνικά», русский, العربية, 日本語のテキスト, 한국어.")]
    [InlineData("emoji 😀👍🏽👨‍👩‍👧 and rare 𠀀𪚥 ideographs\r\n\ttabs  and   spaces\n\n")]
    [InlineData("<|endoftext|><|user|>问：<|assistant|>答：<|system|>")]
    public void Round_trips_any_text(string text)
    {
        var tok = TextTokenizer.FromFile(TrainTiny());
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void Round_trips_random_bytes_and_random_code_points()
    {
        var tok = TextTokenizer.FromFile(TrainTiny());
        var rng = new Random(5);
        for (int i = 0; i < 50; i++)
        {
            var bytes = new byte[rng.Next(1, 200)];
            rng.NextBytes(bytes);
            var text = Encoding.UTF8.GetString(bytes); // invalid sequences become U+FFFD
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
            var runes = Enumerable.Range(0, 40).Select(_ =>
            {
                int c;
                do c = rng.Next(0x110000); while (c is >= 0xD800 and <= 0xDFFF);
                return new Rune(c).ToString();
            });
            var any = string.Concat(runes);
            Assert.Equal(any, tok.Decode(tok.Encode(any)));
        }
    }

    [Fact]
    public void Special_tokens_are_reserved_after_the_ranks_and_never_come_from_text()
    {
        var tok = TextTokenizer.FromFile(TrainTiny());
        Assert.Equal(296, tok.EotId);
        Assert.Equal(["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"], tok.SpecialTokens.OrderBy(kv => kv.Value).Select(kv => kv.Key));
        var ids = tok.Encode("<|endoftext|> <|user|><|assistant|><|system|>" + Poem);
        Assert.DoesNotContain(ids, id => id >= 296);
        Assert.Equal("<|user|>", Encoding.UTF8.GetString(tok.TokenBytes(tok.SpecialTokens["<|user|>"])));
    }

    [Fact]
    public void Pre_tokens_are_llama_3_s_on_code_points_and_the_old_pattern_still_cuts_han_pairs()
    {
        const string text = "宋太祖赵匡胤（九二七～九七六），涿州人。abc def 好的😊谢谢 𠀋𠀋字";
        List<string> Pieces(string pattern) => PreTokenSplitter.For(pattern).Split(text).Select(p => text.Substring(p.Offset, p.Length)).ToList();
        // A run of letters is one pre-token, with the one character before it; 😊 and 𠀋 are one code point each.
        Assert.Equal(["宋太祖赵匡胤", "（九二七", "～九七六", "），", "涿州人", "。abc", " def", " 好的", "😊谢谢", " 𠀋𠀋字"], Pieces(PreTokenPattern.Default));
        // The pattern of tokenizers trained before, on UTF-16 units: 𠀋's surrogates are not letters.
        Assert.Equal(["宋太", "祖赵", "匡胤", "（", "九二", "七", "～", "九七", "六", "），", "涿州", "人", "。abc", " def", " ", "好的", "😊",
                      "谢谢", " 𠀋𠀋", "字"], Pieces(PreTokenPattern.HanPairs));
        // What checkpoints of the old tokenizers recorded (data/…/meta.json "pattern"), to the character.
        Assert.Equal(@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}-[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]]+|[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]{1,2}|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            PreTokenPattern.HanPairs);
    }

    [Fact]
    public void Text_cut_after_line_ends_encodes_to_the_same_ids()
    {
        var tok = TextTokenizer.FromFile(TrainTiny());
        var text = Poem + "  \n\n  indented\n。\n\n" + Poem;
        var whole = tok.Encode(text);
        var cuts = Enumerable.Range(1, text.Length - 1).Where(p => TextChunker.IsNewlineCut(text, p)).ToList();
        Assert.True(cuts.Count > 5);
        var bounds = cuts.Prepend(0).Append(text.Length).ToList();
        var pieces = bounds.Zip(bounds.Skip(1)).SelectMany(c => tok.Encode(text[c.First..c.Second]));
        Assert.Equal(whole, pieces);
    }

    [Fact]
    public void Stats_reports_tokens_per_character_and_an_exact_round_trip()
    {
        var tok = TrainTiny();
        var text = dir.Write("held-out.txt", "明月几时有？把酒问青天。\n不知天上宫阙，今夕是何年。\n");
        var r = Cli.Run("tokenizer", "stats", "--tokenizer", tok, "--input", text, "--out", dir["stats.json"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("27 characters", r.Out);
        Assert.Contains("round trip exact", r.Out);
        var gpt2 = Cli.Run("tokenizer", "stats", "--input", text);
        Assert.Contains("gpt2, 50,257 ids", gpt2.Out);
        Assert.True(File.Exists(dir["stats.json"]));
    }

    [Fact]
    public void A_missing_tokenizer_is_a_one_line_error()
    {
        var corpus = dir.Write("c.txt", Poem);
        var r = Cli.Run("prepare", "--input", corpus, "--out", dir["d"], "--tokenizer", dir["nope.tiktoken"]);
        Assert.Equal(1, r.Code);
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("nope.tiktoken: no such file or directory", r.Err);
        Assert.False(Directory.Exists(dir["d"]));
    }

    [Fact]
    public void Vocab_size_outside_the_uint16_range_is_refused()
    {
        var corpus = dir.Write("c.txt", Poem);
        var r = Cli.Run("tokenizer", "train", "--input", corpus, "--vocab_size", "70000", "--out", dir["t.tiktoken"]);
        Assert.Equal(1, r.Code);
        Assert.Contains("--vocab_size must be in 260…65536", r.Err);
    }

    [Fact]
    public void Prepare_train_and_sample_with_a_trained_tokenizer_and_refuse_a_mismatch()
    {
        var tokPath = TrainTiny();
        var corpus = dir.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Poem, 20)));
        var data = dir["data"];
        var r = Cli.Run("prepare", "--input", corpus, "--out", data, "--tokenizer", tokPath);
        Assert.True(r.Code == 0, r.Err);
        var meta = DatasetMeta.Load(data);
        Assert.Equal(TokenizerSpec.FileType, meta.Tokenizer.Type);
        Assert.Equal(300, meta.VocabSize);
        Assert.Equal(File.ReadAllBytes(tokPath), File.ReadAllBytes(Path.Combine(data, TokenizerSpec.StoredFileName)));
        Assert.Equal(TextTokenizer.FromFile(tokPath).Encode(string.Concat(Enumerable.Repeat(Poem, 20))).Count + 1, meta.TrainTokens + meta.ValTokens);

        // The tokenizer file is deleted from its original place: everything downstream uses the copies.
        File.Delete(tokPath);
        var run = dir["run"];
        new Trainer(TinyTraining.Config(data, run, 64, ("max_iters", "3"), ("eval_interval", "3"))).Run();
        var ckpt = CheckpointStore.Resolve(run);
        Assert.True(File.Exists(Path.Combine(ckpt, TokenizerSpec.StoredFileName)));
        using (var model = LoadedModel.Load(run))
        {
            Assert.Equal(meta.Tokenizer, model.Tokenizer.Spec);
            Assert.Equal(GptConfig(300), model.Config.Model.VocabSize);
        }
        r = Cli.Run("sample", "--ckpt", run, "--start", "床前", "--num_samples", "1", "--max_new_tokens", "4");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("床前", r.Out);

        // SFT data can take the tokenizer from the checkpoint; GPT-2 data cannot fine-tune it.
        var qa = dir.Write("qa.jsonl", string.Concat(Enumerable.Repeat("{\"Question\":\"床前？\",\"Answer\":\"明月光\"}\n", 10)));
        r = Cli.Run("prepare-sft", "--input", qa, "--out", dir["sft"], "--block_size", "64", "--tokenizer", run);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(meta.Tokenizer, DatasetMeta.Load(dir["sft"]).Tokenizer);
        r = Cli.Run("prepare-sft", "--input", qa, "--out", dir["sft-gpt2"], "--block_size", "64");
        Assert.True(r.Code == 0, r.Err);
        var e = Assert.Throws<MiniGlmException>(() => new Trainer(TinyTraining.Config(dir["sft-gpt2"], dir["ft"], 64,
            ("init_from", "finetune"), ("ckpt_dir", run), ("max_iters", "1"))).Run());
        Assert.Contains("prepared with tokenizer gpt2, but checkpoint", e.Message);
        Assert.Contains("uses tok (sha256", e.Message);

        // A tampered tokenizer file in a checkpoint is caught by its hash.
        File.AppendAllText(Path.Combine(ckpt, TokenizerSpec.StoredFileName), "YQ== 296\n");
        r = Cli.Run("sample", "--ckpt", run, "--start", "床前", "--max_new_tokens", "2");
        Assert.Equal(1, r.Code);
        Assert.Contains("the file was changed or replaced", r.Err);
    }

    private static int GptConfig(int vocab) => MiniGlm.Model.GptConfig.PadVocab(vocab);
}
