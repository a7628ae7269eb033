using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MiniGlm.Data;
using MiniGlm.Tokenization;

namespace MiniGlm.Tests;

public class PrepareTests
{
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);
    private const int Eot = 50256;

    private static PrepareResult Prepare(TempDir tmp, string[] inputs, double valFraction = 0.1, bool replaceInvalid = false,
        int chunkChars = 1 << 20, int blockBytes = 1 << 20, Action<PrepareProgress>? progress = null) =>
        CorpusPreparer.Prepare(new PrepareOptions
        {
            Inputs = inputs, OutDir = tmp["out"], ValFraction = valFraction, ReplaceInvalid = replaceInvalid,
            ChunkChars = chunkChars, BlockBytes = blockBytes,
        }, Gpt2, progress);

    private static int[] Ids(string binPath)
    {
        var bytes = File.ReadAllBytes(binPath);
        return Enumerable.Range(0, bytes.Length / 2).Select(i => bytes[2 * i] | bytes[2 * i + 1] << 8).ToArray();
    }

    private static int[] Enc(string text) => Gpt2.Encode(text).ToArray();
    private static int[] Doc(string text) => [.. Enc(text), Eot];

    [Fact]
    public void Bin_layout_is_nanoGPT_uint16_little_endian()
    {
        using var tmp = new TempDir();
        var warnings = new List<string>();
        Prepare(tmp, [tmp.Write("a.txt", "问：")], valFraction: 0, progress: p => { if (p.Warning != null) warnings.Add(p.Warning); });
        Assert.Equal(new byte[] { 0x59, 0x74, 0x6A, 0, 0xAB, 0, 0x78, 0, 0xF8, 0, 0x50, 0xC4 }, File.ReadAllBytes(tmp["out/train.bin"]));
        Assert.Empty(File.ReadAllBytes(tmp["out/val.bin"]));
        Assert.Contains(warnings, w => w.Contains("val.bin is empty"));
    }

    [Fact]
    public void Meta_json_records_tokenizer_counts_and_sources()
    {
        using var tmp = new TempDir();
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("Hello, 世界!\n", 10)));   // 110 chars
        var file = tmp.Write("corpus.txt", bytes);
        var result = Prepare(tmp, [file]);

        using var json = JsonDocument.Parse(File.ReadAllText(tmp["out/meta.json"]));
        var root = json.RootElement;
        Assert.Equal("pretrain", root.GetProperty("kind").GetString());
        Assert.Equal("tiktoken", root.GetProperty("tokenizer").GetProperty("type").GetString());
        Assert.Equal("gpt2", root.GetProperty("tokenizer").GetProperty("name").GetString());
        Assert.Equal(50257, root.GetProperty("vocab_size").GetInt32());
        Assert.Equal(Eot, root.GetProperty("eot_token").GetInt32());
        Assert.Equal(99, root.GetProperty("train_chars").GetInt64());
        Assert.Equal(11, root.GetProperty("val_chars").GetInt64());
        Assert.Equal(0.1, root.GetProperty("val_fraction").GetDouble());
        Assert.Equal(new FileInfo(tmp["out/train.bin"]).Length / 2, root.GetProperty("train_tokens").GetInt64());
        Assert.Equal(new FileInfo(tmp["out/val.bin"]).Length / 2, root.GetProperty("val_tokens").GetInt64());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("created").GetString(), out _));
        var source = Assert.Single(root.GetProperty("sources").EnumerateArray());
        Assert.Equal(file, source.GetProperty("path").GetString());
        Assert.Equal(bytes.Length, source.GetProperty("bytes").GetInt64());
        Assert.Equal(110, source.GetProperty("chars").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), source.GetProperty("sha256").GetString());

        Assert.Equal(result.Meta, DatasetMeta.Load(tmp["out"]) with { Sources = result.Meta.Sources });
        Assert.Equal(result.Meta.Sources, DatasetMeta.Load(tmp["out"]).Sources);
    }

    [Fact]
    public void Split_is_the_first_ninety_percent_of_characters()
    {
        using var tmp = new TempDir();
        var text = string.Concat(Enumerable.Range(0, 25).Select(i => $"w{i % 10}x "));   // 100 chars
        Prepare(tmp, [tmp.Write("a.txt", text)]);
        Assert.Equal(Enc(text[..90]), Ids(tmp["out/train.bin"]));      // the file ends in val: no EOT in train
        Assert.Equal(Doc(text[90..]), Ids(tmp["out/val.bin"]));
    }

    [Fact]
    public void Split_counts_code_points_and_never_splits_a_surrogate_pair()
    {
        using var tmp = new TempDir();
        var result = Prepare(tmp, [tmp.Write("a.txt", "a😀😀😀😀")], valFraction: 0.5);   // 5 characters, 9 UTF-16 units
        Assert.Equal((2, 3), (result.Meta.TrainChars, result.Meta.ValChars));
        Assert.Equal(Enc("a😀"), Ids(tmp["out/train.bin"]));
        Assert.Equal(Doc("😀😀😀"), Ids(tmp["out/val.bin"]));
    }

    [Fact]
    public void Each_file_is_a_document_followed_by_end_of_text_in_the_split_where_it_ends()
    {
        using var tmp = new TempDir();
        string a = tmp.Write("a.txt", "Hello"), b = tmp.Write("b.txt", "<|endoftext|>"), e = tmp.Write("empty.txt", ""), c = tmp.Write("c.txt", "world!");
        // 5 + 13 + 0 + 6 = 24 characters, val_fraction 0.25 -> train 18: a and b end in train, c in val.
        var result = Prepare(tmp, [a, b, e, c], valFraction: 0.25);
        Assert.Equal(18, result.Meta.TrainChars);
        Assert.Equal([.. Doc("Hello"), .. Doc("<|endoftext|>")], Ids(tmp["out/train.bin"]));
        Assert.Equal(Doc("world!"), Ids(tmp["out/val.bin"]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(1 << 20)]
    public void Bom_is_dropped_and_CRLF_and_CR_become_LF_across_block_boundaries(int blockBytes)
    {
        using var tmp = new TempDir();
        // With 3-byte blocks the first CR ends block 2 ("ab\r") and its LF starts block 3.
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "ab\r\ncd\r\r\ne\rf\r"u8, 0xE4, 0xB8, 0xAD, .. "\r\n"u8];
        var file = tmp.Write("a.txt", bytes);
        var result = Prepare(tmp, [file], valFraction: 0, blockBytes: blockBytes);
        const string expected = "ab\ncd\n\ne\nf\n中\n";
        Assert.Equal(expected.Length, result.Meta.TrainChars);
        Assert.Equal(Doc(expected), Ids(tmp["out/train.bin"]));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), result.Meta.Sources[0].Sha256);
        Assert.Equal(bytes.Length, result.Meta.Sources[0].Bytes);
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62, 0x63, 0xFF, 0x64 }, 3, 1 << 20)]
    [InlineData(new byte[] { 0xE4, 0xBD, 0xA0, 0xE5, 0xA5, 0xBD, 0xE4, 0xB8, 0x78 }, 6, 4)]   // 你好 + truncated 中 across blocks
    [InlineData(new byte[] { 0x61, 0x62, 0xE4 }, 2, 2)]                                         // truncated at end of file
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0x61, 0xC0, 0x80 }, 4, 1)]                       // overlong NUL after a BOM
    public void Invalid_utf8_names_file_and_byte_offset_and_writes_nothing(byte[] bytes, int offset, int blockBytes)
    {
        using var tmp = new TempDir();
        var file = tmp.Write("bad.txt", bytes);
        var e = Assert.Throws<MiniGlmException>(() => Prepare(tmp, [file], blockBytes: blockBytes));
        Assert.Equal($"{file}: invalid UTF-8 at byte offset {offset} (use --replace_invalid to substitute U+FFFD)", e.Message);
        Assert.False(Directory.Exists(tmp["out"]) && Directory.EnumerateFileSystemEntries(tmp["out"]).Any());
    }

    [Fact]
    public void Replace_invalid_substitutes_U_FFFD()
    {
        using var tmp = new TempDir();
        var file = tmp.Write("bad.txt", [0x61, 0xFF, 0x62, 0xE4, 0xB8]);
        Prepare(tmp, [file], valFraction: 0, replaceInvalid: true, blockBytes: 4);
        Assert.Equal(Doc("a\uFFFDb\uFFFD"), Ids(tmp["out/train.bin"]));
    }

    [Fact]
    public void Directories_and_globs_expand_sorted_in_argument_order_without_duplicates()
    {
        using var tmp = new TempDir();
        foreach (var f in new[] { "d/b.txt", "d/a.txt", "d/sub/c.txt", "d/sub/deep/e.txt", "d/notes.md" }) tmp.Write(f, f);
        string F(string r) => tmp[r];

        Assert.Equal([F("d/b.txt"), F("d/a.txt"), F("d/sub/c.txt"), F("d/sub/deep/e.txt")],
            CorpusSources.Expand([F("d/b.txt"), F("d"), F("d/a.txt")]));
        Assert.Equal([F("d/a.txt"), F("d/b.txt")], CorpusSources.Expand(["d/*.txt"], tmp.Path));
        Assert.Equal([F("d/sub/c.txt"), F("d/sub/deep/e.txt"), F("d/a.txt"), F("d/b.txt")],
            CorpusSources.Expand([F("d/sub/**/*.txt"), F("d/**/*.txt")]));

        var result = Prepare(tmp, [F("d/*.txt")], valFraction: 0);
        Assert.Equal([.. Doc(F("d/a.txt")[(tmp.Path.Length + 1)..]), .. Doc("d/b.txt")], Ids(tmp["out/train.bin"]));
        Assert.Equal([F("d/a.txt"), F("d/b.txt")], result.Meta.Sources.Select(s => s.Path));
    }

    [Theory]
    [InlineData("nothing/*.txt", "nothing/*.txt: no files match")]
    [InlineData("d/*.md", "d/*.md: no files match")]
    [InlineData("missing.txt", "missing.txt: no such file or directory")]
    [InlineData("d", "d: directory has no *.txt files")]
    public void Inputs_that_match_nothing_are_named(string input, string message)
    {
        using var tmp = new TempDir();
        tmp.Write("d/x.dat", "x");
        Assert.Equal(message, Assert.Throws<MiniGlmException>(() => CorpusSources.Expand([input], tmp.Path)).Message);
    }

    [Fact]
    public void Empty_input_is_an_error()
    {
        using var tmp = new TempDir();
        string a = tmp.Write("a.txt", ""), b = tmp.Write("b.txt", [0xEF, 0xBB, 0xBF]);
        var e = Assert.Throws<MiniGlmException>(() => Prepare(tmp, [a, b]));
        Assert.Contains("no text to prepare (2 file(s), all empty)", e.Message);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Val_fraction_outside_0_1_is_refused(double valFraction)
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<MiniGlmException>(() => Prepare(tmp, [tmp.Write("a.txt", "abc")], valFraction));
        Assert.StartsWith("--val_fraction must be in [0, 1)", e.Message);
    }

    // Text that exercises every pre-tokenizer alternative near chunk cuts.
    private const string Tricky =
        "问：你好，世界！He said \"don't\" — it's 2024年3月15日, ok?\r\n\r\n  I'll  go   there...\t\tthey've 12,345.67元 " +
        "中文English混合123abc'S 'll'd ''re  \r\n 😀😀 emoji👍🏽 ok 東京タワー ① ½ ٣٤ x²\u00A0\u2003nbsp\r\rend '  'tis\n\n\n";

    [Theory]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(50)]
    public void Chunked_encoding_equals_whole_encoding(int chunkChars)
    {
        using var tmp = new TempDir();
        var parts = new[] { Tricky + Tricky, "一二三四五六七八九十" + new string('字', 300) + "。", Tricky.Replace(" ", "    ") };
        var files = parts.Select((p, i) => tmp.Write($"{i}.txt", p)).ToArray();
        var texts = parts.Select(p => p.Replace("\r\n", "\n").Replace('\r', '\n')).ToArray();
        var all = string.Concat(texts);
        var result = Prepare(tmp, files, chunkChars: chunkChars, blockBytes: 5);

        // The reference: each file's text encoded whole, train and val encoded separately at the split.
        // TrainChars counts code points; find its UTF-16 index.
        int split = all.EnumerateRunes().Take((int)result.Meta.TrainChars).Sum(r => r.Utf16SequenceLength);
        Assert.True(split > texts[0].Length + texts[1].Length);
        string valOfLast = all[split..], trainOfLast = texts[2][..^valOfLast.Length];
        Assert.Equal([.. Doc(texts[0]), .. Doc(texts[1]), .. Enc(trainOfLast)], Ids(tmp["out/train.bin"]));
        Assert.Equal(Doc(valOfLast), Ids(tmp["out/val.bin"]));
    }

    [Fact]
    public void Safe_cuts_never_change_the_ids()
    {
        // Letters and digits beyond the BMP are letters and digits to the pattern (matched on code points).
        var text = (Tricky + Tricky.ToUpperInvariant() + "字𠀋𡵚好 𝐇𝐞𝐥𝐥𝐨𝟏𝟐𝟑 😀abc𠀋").Replace("\r", "");
        var whole = Enc(text);
        int cuts = 0;
        for (int p = 1; p < text.Length; p++)
        {
            if (!TextChunker.IsSafeCut(text, p)) continue;
            cuts++;
            Assert.Equal(whole, Enc(text[..p]).Concat(Enc(text[p..])).ToArray());
        }
        Assert.True(cuts > 50, $"only {cuts} safe cuts");
    }

    [Fact]
    public void Cut_classes_agree_with_the_regex()
    {
        // IsSafeCut's classes must be the regex's \s, \p{L}, \p{N} (shown for the BMP; beyond it, by Safe_cuts_never_change_the_ids).
        var s = new Regex(@"^\s$"); var l = new Regex(@"^\p{L}$"); var n = new Regex(@"^\p{N}$");
        for (int c = 0; c < 0x10000; c++)
        {
            var ch = ((char)c).ToString();
            Assert.Equal(s.IsMatch(ch), char.IsWhiteSpace((char)c));
            Assert.Equal(l.IsMatch(ch), char.IsLetter((char)c));
            Assert.Equal(n.IsMatch(ch), char.IsNumber((char)c));
        }
    }

    [Fact]
    public void Load_detects_a_truncated_or_missing_dataset()
    {
        using var tmp = new TempDir();
        var result = Prepare(tmp, [tmp.Write("a.txt", "Hello world, hello world.")]);
        var train = tmp["out/train.bin"];
        using (var f = new FileStream(train, FileMode.Open)) f.SetLength(f.Length - 2);
        var e = Assert.Throws<MiniGlmException>(() => DatasetMeta.Load(tmp["out"]));
        Assert.Equal($"{train}: {2 * result.Meta.TrainTokens - 2} bytes but meta.json says {result.Meta.TrainTokens} tokens; re-run prepare", e.Message);

        Assert.Contains("./miniglm prepare", Assert.Throws<MiniGlmException>(() => DatasetMeta.Load(tmp["nope"])).Message);
        File.Delete(tmp["out/meta.json"]);
        Assert.Contains("run ./miniglm prepare", Assert.Throws<MiniGlmException>(() => DatasetMeta.Load(tmp["out"])).Message);
    }

    [Fact]
    public void A_failed_prepare_leaves_the_old_dataset_and_no_temp_files()
    {
        using var tmp = new TempDir();
        var file = tmp.Write("a.txt", "first version");
        var old = Prepare(tmp, [file]);
        var oldTrain = File.ReadAllBytes(tmp["out/train.bin"]);
        // Change the file between pass 1 and pass 2: pass 2 must notice and abandon its temp files.
        var e = Assert.Throws<MiniGlmException>(() => Prepare(tmp, [file], progress: p =>
        {
            if (p.Phase == PreparePhase.Scan && p.BytesDone == p.BytesTotal) File.WriteAllText(file, "changed!");
        }));
        Assert.Contains("changed while preparing", e.Message);
        Assert.Equal(new[] { "meta.json", "train.bin", "val.bin" }, Directory.GetFiles(tmp["out"]).Select(Path.GetFileName).Order());
        Assert.Equal(oldTrain, File.ReadAllBytes(tmp["out/train.bin"]));
        Assert.Equal(old.Meta.TrainTokens, DatasetMeta.Load(tmp["out"]).TrainTokens);
    }
}
