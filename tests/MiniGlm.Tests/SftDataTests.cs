using System.Text;
using System.Text.Json;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Tests;

public class SftDataTests
{
    private static readonly TextTokenizer Gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);
    private const int Eot = 50256;

    private static int[] Enc(string text) => Gpt2.Encode(text).ToArray();

    private static int[] U16(string path)
    {
        var b = File.ReadAllBytes(path);
        return Enumerable.Range(0, b.Length / 2).Select(i => b[2 * i] | b[2 * i + 1] << 8).ToArray();
    }

    private static string Qa(string q, string a) => JsonSerializer.Serialize(new { Question = q, Answer = a });

    private static SftPrepareResult Prepare(TempDir tmp, string[] lines, int blockSize, SftLayout layout,
        double valFraction = 0, bool strict = false, string outDir = "out") =>
        SftPreparer.Prepare(new SftOptions
        {
            Inputs = [tmp.Write("data.jsonl", string.Join("\n", lines) + "\n")], OutDir = tmp[outDir],
            BlockSize = blockSize, Layout = layout, ValFraction = valFraction, Strict = strict,
        }, Gpt2);

    [Fact]
    public void Sft_mask_is_aligned_with_the_targets()
    {
        var encoder = new SftEncoder(Gpt2, ChatTemplate.Seed, blockSize: 64);
        var seq = encoder.Encode(new SftExample([new SftTurn("你好", "在")]), out var reason)!;
        Assert.Null(reason);
        // 问：你好\n答： is the prompt (not learned); 在 and end-of-text are the answer.
        var prompt = Enc("问：你好\n答：");
        var answer = Enc("在");
        Assert.Equal([.. prompt, .. answer, Eot], seq.Ids);
        Assert.Equal(LiteralIds, seq.Ids);
        int[] x = seq.Ids[..^1], y = seq.Ids[1..];
        Assert.Equal(LiteralIds[..^1], x);
        Assert.Equal(LiteralIds[1..], y);
        // mask[t] = 1 iff y[t] is 在 or the closing end-of-text.
        Assert.Equal(LiteralMask, seq.TargetMask().Select(b => b ? 1 : 0).ToArray());
        for (int t = 0; t < y.Length; t++) Assert.Equal(t >= prompt.Length - 1, seq.TargetMask()[t]);
    }

    // GPT-2 ids of 问：你好\n答： (15), 在 (2) and end-of-text.
    private static readonly int[] LiteralIds =
        [29785, 106, 171, 120, 248, 19526, 254, 25001, 121, 198, 163, 18433, 171, 120, 248, 28839, 101, 50256];
    private static readonly int[] LiteralMask = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1];

    [Fact]
    public void Sft_reader_accepts_every_spelling()
    {
        using var tmp = new TempDir();
        var text = "\uFEFF" + string.Join("\n",
            """{"Question": "q1", "Answer": "a1"}""",
            "",
            """{"question": "q2", "answer": "a2", "system": "s2"}""",
            """{"messages": [{"role": "system", "content": "s3"}, {"role": "user", "content": "q3"}, {"role": "assistant", "content": "a3"}, {"role": "user", "content": "q3b"}, {"role": "assistant", "content": "a3b"}]}""",
            """{"conversations": [{"role": "user", "content": "q4"}, {"role": "assistant", "content": "a4"}]}""",
            """{"conversations": [{"from": "human", "value": "q5"}, {"from": "gpt", "value": "a5"}]}""") + "\r\n";
        var file = tmp.Write("in.jsonl", text);
        var result = SftReader.Read([file], strict: true);
        Assert.Empty(result.Skipped);
        Assert.Equal(5, result.LinesRead);
        Assert.Equal([1, 3, 4, 5, 6], result.Examples.Select(e => e.Line));
        Assert.Equal(new SftTurn("q1", "a1"), Assert.Single(result.Examples[0].Turns));
        Assert.Null(result.Examples[0].System);
        Assert.Equal("s2", result.Examples[1].System);
        Assert.Equal([new SftTurn("q3", "a3"), new SftTurn("q3b", "a3b")], result.Examples[2].Turns);
        Assert.Equal("s3", result.Examples[2].System);
        Assert.Equal(new SftTurn("q4", "a4"), Assert.Single(result.Examples[3].Turns));
        Assert.Equal(new SftTurn("q5", "a5"), Assert.Single(result.Examples[4].Turns));
    }

    [Fact]
    public void Sft_malformed_lines_are_reported_counted_and_fatal_when_strict()
    {
        using var tmp = new TempDir();
        var file = tmp.Write("bad.jsonl", string.Join("\n",
            Qa("ok", "fine"),
            """{"Question": "q", "Answer": """,
            """{"Question": "q"}""",
            """{"Question": 3, "Answer": "a"}""",
            """{"Question": "q", "Answer": "  "}""",
            """{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}""",
            """[1, 2]""",
            """{"messages": [{"role": "user", "content": "a"}]}"""));
        var result = SftReader.Read([file], strict: false);
        Assert.Single(result.Examples);
        Assert.Equal(7, result.Problems.Count);
        Assert.StartsWith($"{file}:2: bad JSON", result.Problems[0]);
        Assert.StartsWith($"{file}:3: missing keys", result.Problems[1]);
        Assert.StartsWith($"{file}:4: wrong type", result.Problems[2]);
        Assert.StartsWith($"{file}:5: empty answer", result.Problems[3]);
        Assert.StartsWith($"{file}:6: not alternating user/assistant", result.Problems[4]);
        Assert.StartsWith($"{file}:7: not a JSON object", result.Problems[5]);
        Assert.StartsWith($"{file}:8: not alternating user/assistant", result.Problems[6]);
        Assert.Equal(2, result.Skipped[SftReader.NotAlternating]);
        Assert.Equal(1, result.Skipped[SftReader.BadJson]);
        Assert.All(result.Problems, p => Assert.DoesNotContain('\n', p));

        var e = Assert.Throws<MiniGlmException>(() => SftReader.Read([file], strict: true));
        Assert.StartsWith($"{file}:2: bad JSON", e.Message);
    }

    [Fact]
    public void Sft_truncation_cuts_only_the_last_answer_and_never_the_question()
    {
        using var tmp = new TempDir();
        var longAnswer = string.Concat(Enumerable.Repeat("长答案", 20));
        var longQuestion = string.Concat(Enumerable.Repeat("问题很长", 20));
        var result = Prepare(tmp, [Qa("短", longAnswer), Qa(longQuestion, "a"), Qa("短", "好")], blockSize: 16, SftLayout.Padded);
        Assert.Equal(3, result.Summary.ExamplesRead);
        Assert.Equal(2, result.Summary.ExamplesKept);
        Assert.Equal(1, result.Summary.Truncated);
        Assert.Equal(1, result.Summary.Skipped[SftEncoder.QuestionTooLong]);
        Assert.Contains(result.Problems, p => p.StartsWith($"{tmp["data.jsonl"]}:2: {SftEncoder.QuestionTooLong}"));

        var ids = U16(tmp["out/train.bin"]);
        var prompt = Enc("问：短\n答：");
        Assert.Equal([.. prompt, .. Enc(longAnswer)[..(17 - prompt.Length)]], ids[..17]);
        var mask = File.ReadAllBytes(tmp["out/train_mask.bin"]);
        // Every prediction of an answer token is learned, including the one from the row's next-to-last token.
        Assert.Equal([.. Enumerable.Repeat((byte)0, prompt.Length - 1), .. Enumerable.Repeat((byte)1, 17 - prompt.Length), (byte)0], mask[..17]);

        var strict = Assert.Throws<MiniGlmException>(() => Prepare(tmp, [Qa(longQuestion, "a")], blockSize: 16, SftLayout.Padded, strict: true));
        Assert.StartsWith($"{tmp["data.jsonl"]}:1: {SftEncoder.QuestionTooLong}", strict.Message);
    }

    [Fact]
    public void Sft_padded_layout_is_one_example_per_row()
    {
        using var tmp = new TempDir();
        var result = Prepare(tmp, [Qa("你好", "在"), Qa("hi", "yo")], blockSize: 23, SftLayout.Padded);
        var a = (int[])[.. Enc("问：你好\n答："), .. Enc("在"), Eot];
        var b = (int[])[.. Enc("问：hi\n答："), .. Enc("yo"), Eot];
        int[] Row(int[] doc) => [.. doc, .. Enumerable.Repeat(Eot, 24 - doc.Length)];
        byte[] MaskRow(int[] doc, int promptLen) =>
            [.. Enumerable.Repeat((byte)0, promptLen - 1), .. Enumerable.Repeat((byte)1, doc.Length - promptLen), .. Enumerable.Repeat((byte)0, 25 - doc.Length)];

        Assert.Equal([.. Row(a), .. Row(b)], U16(tmp["out/train.bin"]));
        Assert.Equal([.. MaskRow(a, Enc("问：你好\n答：").Length), .. MaskRow(b, Enc("问：hi\n答：").Length)], File.ReadAllBytes(tmp["out/train_mask.bin"]));
        Assert.Empty(File.ReadAllBytes(tmp["out/val.bin"]));
        Assert.Empty(File.ReadAllBytes(tmp["out/val_mask.bin"]));
        Assert.False(File.Exists(tmp["out/train_doc.bin"]));
        Assert.Equal(2, result.Summary.TrainRows);
        Assert.Equal(1 - (a.Length + b.Length) / 48.0, result.Summary.PaddingFraction, 9);

        var meta = DatasetMeta.Load(tmp["out"]);
        Assert.Equal("sft", meta.Kind);
        Assert.Equal(SftLayout.Padded, meta.Layout);
        Assert.Equal(23, meta.BlockSize);
        Assert.Equal(48, meta.TrainTokens);
        Assert.Equal(ChatTemplate.Seed, meta.ChatTemplate);
        Assert.Equal(2, meta.SftSummary!.ExamplesKept);
        Assert.Contains("mask[t] = 1 iff", meta.Alignment);
    }

    [Fact]
    public void Sft_packed_layout_puts_several_examples_in_a_row()
    {
        using var tmp = new TempDir();
        var lines = Enumerable.Range(0, 12).Select(i => Qa($"q{i}", $"a{i}")).ToArray();
        var packed = Prepare(tmp, lines, blockSize: 63, SftLayout.Packed, outDir: "packed");
        var padded = Prepare(tmp, lines, blockSize: 63, SftLayout.Padded, outDir: "padded");
        Assert.Equal(12, padded.Summary.TrainRows);
        Assert.True(packed.Summary.TrainRows <= 3, $"{packed.Summary.TrainRows} rows");
        Assert.True(packed.Summary.PaddingFraction < padded.Summary.PaddingFraction / 3,
            $"packed {packed.Summary.PaddingFraction}, padded {padded.Summary.PaddingFraction}");

        var ids = U16(tmp["packed/train.bin"]);
        var docs = U16(tmp["packed/train_doc.bin"]);
        var mask = File.ReadAllBytes(tmp["packed/train_mask.bin"]);
        Assert.Equal(ids.Length, docs.Length);
        Assert.Equal(ids.Length, mask.Length);
        // Row 0 starts with documents 1, 2, 3..., each the encoded example; the rest is padding (doc 0, mask 0).
        int pos = 0;
        for (int d = 1; pos + Doc(d - 1).Length <= 64; d++)
        {
            var doc = Doc(d - 1);
            Assert.Equal(doc, ids[pos..(pos + doc.Length)]);
            Assert.All(docs[pos..(pos + doc.Length)], x => Assert.Equal(d, x));
            // A document's last token predicts the next document: never learned.
            Assert.Equal(0, mask[pos + doc.Length - 1]);
            Assert.Equal(1, mask[pos + doc.Length - 2]);
            pos += doc.Length;
        }
        Assert.True(docs[pos - 1] >= 3);
        Assert.All(docs[pos..64], x => Assert.Equal(0, x));
        Assert.All(mask[pos..64], x => Assert.Equal(0, x));
        Assert.All(ids[pos..64], x => Assert.Equal(Eot, x));
        Assert.Equal(SftLayout.Packed, DatasetMeta.Load(tmp["packed"]).Layout);

        int[] Doc(int i) => [.. Enc($"问：q{i}\n答："), .. Enc($"a{i}"), Eot];
    }

    [Fact]
    public void Sft_val_split_is_the_last_examples_in_file_order()
    {
        using var tmp = new TempDir();
        var lines = Enumerable.Range(0, 10).Select(i => Qa($"q{i}", $"a{i}")).ToArray();
        var first = Prepare(tmp, lines, blockSize: 31, SftLayout.Padded, valFraction: 0.3, outDir: "one");
        Prepare(tmp, lines, blockSize: 31, SftLayout.Padded, valFraction: 0.3, outDir: "two");
        Assert.Equal(7, first.Summary.TrainExamples);
        Assert.Equal(3, first.Summary.ValExamples);
        var val = U16(tmp["one/val.bin"]);
        Assert.Equal([.. Enc("问：q7\n答："), .. Enc("a7"), Eot], val[..(Enc("问：q7\n答：").Length + Enc("a7").Length + 1)]);
        foreach (var f in new[] { "train.bin", "val.bin", "train_mask.bin", "val_mask.bin" })
            Assert.Equal(File.ReadAllBytes(tmp[$"one/{f}"]), File.ReadAllBytes(tmp[$"two/{f}"]));

        // A separate val file replaces the fraction.
        var valFile = tmp.Write("val.jsonl", Qa("vq", "va") + "\n");
        var separate = SftPreparer.Prepare(new SftOptions
        {
            Inputs = [tmp["data.jsonl"]], ValInputs = [valFile], OutDir = tmp["sep"], BlockSize = 31,
            Layout = SftLayout.Padded, ValFraction = 0.3,
        }, Gpt2);
        Assert.Equal(10, separate.Summary.TrainExamples);
        Assert.Equal(1, separate.Summary.ValExamples);
        Assert.Equal(11, separate.Summary.ExamplesRead);
    }

    [Fact]
    public void Sft_multi_turn_truncation_keeps_earlier_turns_and_matches_chat_rendering()
    {
        var encoder = new SftEncoder(Gpt2, ChatTemplate.Seed, blockSize: 40);
        var longAnswer = string.Concat(Enumerable.Repeat("很长的回答", 20));
        var seq = encoder.Encode(new SftExample([new SftTurn("一", "二"), new SftTurn("三", longAnswer)], System: "系统"), out _)!;
        Assert.True(seq.Truncated);
        Assert.Equal(41, seq.Length);

        var promptA = Enc("系统\n问：一\n答：");
        var promptB = Enc("问：三\n答：");
        int[] prefix = [.. promptA, .. Enc("二"), Eot, .. promptB];
        Assert.Equal([.. prefix, .. Enc(longAnswer)[..(41 - prefix.Length)]], seq.Ids);
        Assert.Equal([.. promptA.Select(_ => false), .. Enc("二").Select(_ => true), true, .. promptB.Select(_ => false),
            .. Enumerable.Repeat(true, 41 - prefix.Length)], seq.IsAnswer);

        // Chat renders the same tokens for the turns after the first (it has no system text).
        var rendered = ChatTemplate.Seed.Render(Gpt2, [("一", "二"), ("三", null)]);
        var promptANoSystem = Enc("问：一\n答：");
        Assert.Equal(promptANoSystem, rendered[..promptANoSystem.Length]);
        Assert.Equal(prefix[promptA.Length..], rendered[promptANoSystem.Length..]);
    }

    [Fact]
    public void Sft_meta_load_checks_the_mask_and_doc_files()
    {
        using var tmp = new TempDir();
        Prepare(tmp, [Qa("q", "a"), Qa("q2", "a2")], blockSize: 31, SftLayout.Packed);
        DatasetMeta.Load(tmp["out"]);
        File.WriteAllBytes(tmp["out/train_doc.bin"], [0, 0]);
        var e = Assert.Throws<MiniGlmException>(() => DatasetMeta.Load(tmp["out"]));
        Assert.Contains("train_doc.bin", e.Message);
        File.WriteAllBytes(tmp["out/train_mask.bin"], [0]);
        e = Assert.Throws<MiniGlmException>(() => DatasetMeta.Load(tmp["out"]));
        Assert.Contains("train_mask.bin", e.Message);
    }
}
