using MiniGlm.Corpora;

namespace MiniGlm.Tests;

public class ChinesePoetryCorpusTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-poetry-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    private void Json(string relative, string content)
    {
        var path = Path.Combine(root, "pkg", "dist", relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    [Fact]
    public void Writes_one_block_per_work_and_skips_rankings_and_author_files()
    {
        Json("quantangshi/poet.tang.0.json", """[{"title":"靜夜思","author":"李白","paragraphs":["床前明月光，疑是地上霜。","舉頭望明月，低頭思故鄉。"]}]""");
        Json("songci/ci.song.0.json", """[{"rhythmic":"水调歌头","author":"苏轼","paragraphs":["明月几时有？"]}]""");
        Json("songci/author.song.json", """[{"name":"苏轼","description":"北宋文学家"}]""");
        Json("rank/poet/poet.tang.rank.0.json", """[{"author":"李白","title":"静夜思","baidu":1}]""");
        Json("quantangshi/error/poet.tang.0.json", """[{"title":"錯","author":"某","paragraphs":["錯字"]}]""");
        var outDir = Path.Combine(root, "text");
        var counts = ChinesePoetryCorpus.Write(Path.Combine(root, "pkg"), outDir);

        Assert.Equal(["authors", "quantangshi", "songci"], counts.Keys);
        Assert.Equal("苏轼\n北宋文学家\n\n", File.ReadAllText(Path.Combine(outDir, "authors.txt")));
        Assert.Equal("靜夜思\n唐·李白\n床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n\n", File.ReadAllText(Path.Combine(outDir, "quantangshi.txt")));
        Assert.Equal("水调歌头\n宋·苏轼\n明月几时有？\n\n", File.ReadAllText(Path.Combine(outDir, "songci.txt")));
        Assert.Equal(File.ReadAllText(Path.Combine(outDir, "songci.txt")).Length, counts["songci"]);
        Assert.False(File.Exists(Path.Combine(outDir, "rank.txt")));
    }

    [Fact]
    public void Converts_to_simplified_and_records_the_conversion()
    {
        Json("quantangshi/poet.tang.0.json", """[{"title":"靜夜思","author":"李白","paragraphs":["舉頭望明月"]}]""");
        var outDir = Path.Combine(root, "text");
        var converter = new OpenCc([new("靜", "静"), new("舉", "举"), new("頭", "头")]);
        ChinesePoetryCorpus.Write(Path.Combine(root, "pkg"), outDir, converter);
        Assert.Equal("静夜思\n唐·李白\n举头望明月\n\n", File.ReadAllText(Path.Combine(outDir, "quantangshi.txt")));
        Assert.Contains("OpenCC", File.ReadAllText(Path.Combine(outDir, "corpus.json")));
    }

    [Fact]
    public void A_missing_package_or_bad_json_is_a_clear_error()
    {
        Assert.Contains("data fetch chinese-poetry", Assert.Throws<MiniGlmException>(() =>
            ChinesePoetryCorpus.Write(Path.Combine(root, "none"), Path.Combine(root, "text"))).Message);
        Json("shijing/shijing.json", "[{broken");
        Assert.Contains("shijing.json: not valid JSON", Assert.Throws<MiniGlmException>(() =>
            ChinesePoetryCorpus.Write(Path.Combine(root, "pkg"), Path.Combine(root, "text"))).Message);
    }
}
