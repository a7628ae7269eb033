using MiniGlm.Corpora;

namespace MiniGlm.Tests;

public class OpenCcTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-opencc-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    private OpenCc Converter()
    {
        // The layout and format of opencc-js's dist/esm-lib/dict files, with a few real entries.
        var dict = Path.Combine(root, "dist", "esm-lib", "dict");
        Directory.CreateDirectory(dict);
        File.WriteAllText(Path.Combine(dict, "TSCharacters.js"), "export default \"乾 干 乾|頭 头|舉 举|鄉 乡|㗲 𠵾|𠵾 X\"");
        File.WriteAllText(Path.Combine(dict, "TSPhrases.js"), "export default \"乾坤 乾坤|乾乾淨淨 干干净净\"");
        return OpenCc.LoadTraditionalToSimplified(root);
    }

    [Theory]
    [InlineData("舉頭望明月，低頭思故鄉。", "举头望明月，低头思故乡。")] // characters
    [InlineData("乾坤", "乾坤")]                                   // a phrase keeps 乾, the character alone becomes 干
    [InlineData("乾杯", "干杯")]
    [InlineData("乾乾淨淨的乾坤", "干干净净的乾坤")]                 // the longest phrase wins at each position
    [InlineData("㗲𠵾", "𠵾X")]                                      // characters outside the BMP are whole units
    public void Converts_with_longest_phrase_then_characters(string traditional, string simplified) =>
        Assert.Equal(simplified, Converter().Convert(traditional));

    [Fact]
    public void A_missing_dictionary_is_a_clear_error() =>
        Assert.Contains("TSCharacters.js", Assert.Throws<MiniGlmException>(() => OpenCc.LoadTraditionalToSimplified(root)).Message);
}
