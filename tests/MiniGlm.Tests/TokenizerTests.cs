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
}
