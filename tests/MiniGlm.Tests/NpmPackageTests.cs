using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using MiniGlm.Corpora;

namespace MiniGlm.Tests;

public class NpmPackageTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-npm-test-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    /// An npm-style tarball (files under package/) and the package record that trusts it.
    private (string Tarball, NpmPackage Package) Tarball()
    {
        var path = Path.Combine(root, "pkg.tgz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz))
        {
            foreach (var (name, text) in new[] { ("package/package.json", "{}"), ("package/dist/poems.json", "[{\"title\":\"静夜思\"}]") })
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
                tar.WriteEntry(entry);
            }
        }
        var integrity = "sha512-" + Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(path)));
        return (path, new NpmPackage("fake", "1.0.0", integrity));
    }

    [Fact]
    public void Extracts_a_verified_tarball_once()
    {
        var (tarball, package) = Tarball();
        var dir = Path.Combine(root, "raw", "fake");
        Assert.True(package.Fetch(dir, tarball));
        Assert.Equal("[{\"title\":\"静夜思\"}]", File.ReadAllText(Path.Combine(dir, "dist", "poems.json")));
        Assert.True(package.IsFetched(dir));
        Assert.False(package.Fetch(dir, tarball)); // a second run does nothing
    }

    [Fact]
    public void A_tarball_that_fails_its_integrity_check_is_not_extracted()
    {
        var (tarball, package) = Tarball();
        var dir = Path.Combine(root, "raw", "fake");
        var wrong = package with { Integrity = "sha512-AAAA" };
        var e = Assert.Throws<MiniGlmException>(() => wrong.Fetch(dir, tarball));
        Assert.Contains("does not match", e.Message);
        Assert.Equal([tarball], Directory.GetFileSystemEntries(root)); // nothing extracted, no temp left behind
    }

    [Fact]
    public void An_unknown_directory_in_the_way_is_refused_not_deleted()
    {
        var (tarball, package) = Tarball();
        var dir = Path.Combine(root, "mine");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "user data");
        Assert.Contains("not a complete", Assert.Throws<MiniGlmException>(() => package.Fetch(dir, tarball)).Message);
        Assert.True(File.Exists(Path.Combine(dir, "keep.txt")));
    }
}
