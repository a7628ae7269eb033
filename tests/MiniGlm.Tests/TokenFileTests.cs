using MiniGlm.Data;

namespace MiniGlm.Tests;

public class TokenFileTests
{
    [Fact]
    public void Write_is_uint16_little_endian_without_header_and_reads_back()
    {
        using var tmp = new TempDir();
        var path = tmp["t.bin"];
        TokenFile.Write(path, [29785, 106, 171, 120, 248, 50256]);
        Assert.Equal(new byte[] { 0x59, 0x74, 0x6A, 0, 0xAB, 0, 0x78, 0, 0xF8, 0, 0x50, 0xC4 }, File.ReadAllBytes(path));

        using var file = TokenFile.Open(path);
        Assert.Equal(6, file.Length);
        Assert.Equal(50256, file[5]);
        var dest = new long[3];
        file.Read(2, dest);
        Assert.Equal(new long[] { 171, 120, 248 }, dest);
        var raw = new ushort[2];
        file.Read(4, raw);
        Assert.Equal(new ushort[] { 248, 50256 }, raw);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.Read(4, new long[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => file[6]);
    }

    [Fact]
    public void Empty_file_has_no_tokens()
    {
        using var tmp = new TempDir();
        using var file = TokenFile.Open(tmp.Write("val.bin", []));
        Assert.Equal(0, file.Length);
        file.Read(0, Span<long>.Empty);
    }

    [Fact]
    public void Odd_byte_length_and_missing_file_name_the_file()
    {
        using var tmp = new TempDir();
        var odd = tmp.Write("odd.bin", [1, 0, 2]);
        Assert.Contains($"{odd}: 3 bytes", Assert.Throws<MiniGlmException>(() => TokenFile.Open(odd)).Message);
        var missing = tmp["missing.bin"];
        Assert.Contains(missing, Assert.Throws<MiniGlmException>(() => TokenFile.Open(missing)).Message);
    }

    [Theory]
    [InlineData(65536)]
    [InlineData(-1)]
    public void Writer_refuses_ids_that_do_not_fit_uint16(int id)
    {
        using var w = new TokenFileWriter(new MemoryStream(), "x.bin");
        w.Append(65535);
        var e = Assert.Throws<MiniGlmException>(() => w.Append(id));
        Assert.StartsWith($"x.bin: token id {id} ", e.Message);
        Assert.Equal(1, w.Count);
    }
}
