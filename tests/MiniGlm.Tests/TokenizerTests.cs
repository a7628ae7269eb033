using MiniGlm.Tokenization;

namespace MiniGlm.Tests;

public class TokenizerTests
{
    private readonly TextTokenizer gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);

    [Theory]
    [InlineData("问：", new[] { 29785, 106, 171, 120, 248 })]
    [InlineData("？", new[] { 171, 120, 253 })]
    [InlineData("Hello world", new[] { 15496, 995 })]
    // encode_ordinary: the special token's text inside a corpus is plain text.
    [InlineData("<|endoftext|>", new[] { 27, 91, 437, 1659, 5239, 91, 29 })]
    public void Gpt2_ids_equal_tiktoken(string text, int[] ids) => Assert.Equal(ids, gpt2.Encode(text));

    [Fact]
    public void Decode_round_trips_and_drops_end_of_text()
    {
        var ids = gpt2.Encode("你好，世界！").Append(gpt2.EotId);
        Assert.Equal("你好，世界！", gpt2.Decode(ids));
    }

    // Texts whose runs stay below TextTokenizer.LongRun, so Encode takes the library's path: the linear merger must
    // give the same ids piece by piece, pieces of up to 255 repeated characters included.
    private static IEnumerable<string> Samples()
    {
        var rng = new Random(5);
        string[] parts = ["床前明月光，", "疑是地上霜。\n", "Hello world, it's 1999! ", "  \n\n", "-=", "，", "a", "==", "…", "😀", " ", "12345", "ab"];
        for (int i = 0; i < 200; i++)
            yield return string.Concat(Enumerable.Range(0, rng.Next(1, 40)).Select(_ =>
            {
                var p = parts[rng.Next(parts.Length)];
                return rng.Next(6) == 0 ? string.Concat(Enumerable.Repeat(p, rng.Next(1, 250 / p.Length))) : p;
            }));
        foreach (var c in new[] { "a", "，", "=", " ", "-=" }) yield return string.Concat(Enumerable.Repeat(c, (TextTokenizer.LongRun - 1) / c.Length));
    }

    [Fact]
    public void The_linear_merger_gives_the_library_s_ids()
    {
        var corpus = string.Concat(Samples().Take(50)) + "床前明月光，疑是地上霜。举头望明月，低头思故乡。" + new string('a', 300) + new string('，', 300);
        var counts = PreTokenSplitter.For(PreTokenPattern.Default).Split(corpus).GroupBy(p => corpus.Substring(p.Offset, p.Length)).ToDictionary(g => g.Key, g => (long)g.Count());
        using var dir = new TempDir();
        TiktokenFile.Write(dir["tok.tiktoken"], BpeTrainer.Train(counts, 600));
        foreach (var tok in new[] { gpt2, TextTokenizer.FromFile(dir["tok.tiktoken"]) })
            foreach (var text in Samples().Where(t => !TextTokenizer.HasLongRun(t)))
                Assert.Equal(tok.Encode(text), tok.EncodeLinear(text));
    }

    [Fact]
    public void Long_runs_of_one_character_class_encode_in_linear_time_and_round_trip()
    {
        foreach (var text in new[] { new string('，', 300_000), new string('a', 400_000), string.Concat(Enumerable.Repeat("-=", 200_000)),
                     new string(' ', 300_000) + "x" })
        {
            var cpu = CpuTime.Now;
            var ids = gpt2.Encode(text);
            var spent = CpuTime.Now - cpu;
            // Seconds to minutes of CPU with the library's quadratic merge; tens of milliseconds here.
            Assert.True(spent.TotalSeconds < 5, $"{text.Length} × '{text[0]}' took {spent.TotalSeconds:F1} CPU s");
            Assert.Equal(text, gpt2.Decode(ids));
        }
    }

    /// A trained tokenizer takes a whole run of letters as one pre-token: a line of Chinese without punctuation, and
    /// letters beyond the BMP among them (𠀋: a letter as a code point, two surrogates as UTF-16), must still
    /// take the linear path.
    [Fact]
    public void A_long_han_run_is_one_pre_token_and_still_encodes_in_linear_time()
    {
        using var dir = new TempDir();
        const string line = "床前明月光疑是地上霜𠀋字";
        var counts = PreTokenSplitter.For(PreTokenPattern.Default).Split(line).ToDictionary(p => line.Substring(p.Offset, p.Length), _ => 10L);
        TiktokenFile.Write(dir["tok.tiktoken"], BpeTrainer.Train(counts, 300));
        var tok = TextTokenizer.FromFile(dir["tok.tiktoken"]);
        foreach (var text in new[] { string.Concat(Enumerable.Repeat("床前明月光疑是地上霜", 30_000)), string.Concat(Enumerable.Repeat("𠀋字", 100_000)) })
        {
            Assert.Single(PreTokenSplitter.For(PreTokenPattern.Default).Split(text));
            Assert.True(TextTokenizer.HasLongRun(text));
            var cpu = CpuTime.Now;
            var ids = tok.Encode(text);
            var spent = CpuTime.Now - cpu;
            Assert.True(spent.TotalSeconds < 5, $"{text.Length} characters took {spent.TotalSeconds:F1} s of CPU");
            Assert.Equal(text, tok.Decode(ids));
            var head = text.Substring(0, 3000);
            Assert.Equal(tok.EncodeLinear(head), tok.Encode(head));
        }
        Assert.False(TextTokenizer.HasLongRun(string.Concat(Enumerable.Repeat("𠀋字", 200)), codePoints: false)); // as UTF-16: no long run
    }

    [Fact]
    public void A_trained_tokenizer_spec_without_its_sha256_is_refused_naming_the_hash_to_add()
    {
        using var dir = new TempDir();
        TiktokenFile.Write(dir["tok.tiktoken"], BpeTrainer.Train(new Dictionary<string, long> { ["ab"] = 3 }, 257));
        var spec = TiktokenFile.Describe(dir["tok.tiktoken"]);
        var e = Assert.Throws<MiniGlmException>(() => TextTokenizer.Load(spec with { Sha256 = null }));
        Assert.Contains($"\"sha256\": \"{spec.Sha256}\"", e.Message);
        Assert.Equal(257 + TiktokenFile.ReservedSpecials.Count, TextTokenizer.Load(spec).VocabSize);
    }
}
