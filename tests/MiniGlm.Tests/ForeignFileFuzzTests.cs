using System.Diagnostics;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using MiniGlm.Checkpoints;
using MiniGlm.Interop.NanoGpt;
using MiniGlm.Interop.Pickle;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Files from elsewhere, crafted or damaged: a torch.save archive (nanoGPT's ckpt.pt), a pickle (meta.pkl) and a
/// checkpoint's safetensors. Each read ends in success or one MiniGlmException of one line: never another
/// exception, a hang, or an allocation the file does not justify. The seed is fixed, so a failure replays.
public class ForeignFileFuzzTests : IDisposable
{
    private readonly TempDir tmp = new();
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nanogpt-ckpt");

    public void Dispose() => tmp.Dispose();

    /// Managed bytes one read may allocate: far above what these small files need, far below what a crafted
    /// length (up to 2 GB) would ask for.
    private const long MaxAllocated = 64L << 20;

    /// Runs a read on its own thread with a time limit; returns the one-line error, or null for success.
    private static string? Outcome(string what, Action read)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { read(); }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, 64 << 20);
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), $"{what}: still reading after 60 s");
        Assert.True(allocated < MaxAllocated, $"{what}: allocated {allocated / 1e6:F0} MB");
        if (error is null) return null;
        Assert.True(error is MiniGlmException, $"{what}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
        Assert.DoesNotContain('\n', error.Message);
        return error.Message;
    }

    /// Reads a ckpt.pt as import does: the archive, then (if that worked) the model built from it.
    private void ImportCase(string what, string path)
    {
        var dir = tmp["imported"];
        Outcome(what, () =>
        {
            using var foreign = NanoGptCheckpoint.Read(path);
            foreign.SaveCheckpoint(dir, new TokenizerSpec { Type = TokenizerSpec.CharsType, Name = "c", Chars = [.. Enumerable.Range(0, 64).Select(i => ((char)(0x4e00 + i)).ToString())] }, path);
        });
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    [Fact]
    public void Damaged_nanogpt_checkpoints_and_pickles_fail_in_one_line()
    {
        var rng = new Random(24);
        var ckpt = File.ReadAllBytes(Path.Combine(Fixture, "ckpt.pt"));
        var meta = File.ReadAllBytes(Path.Combine(Fixture, "meta.pkl"));
        byte[] pickle;
        using (var zip = ZipFile.OpenRead(Path.Combine(Fixture, "ckpt.pt")))
        using (var s = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl")).Open())
        {
            var m = new MemoryStream();
            s.CopyTo(m);
            pickle = m.ToArray();
        }
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        int errors = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 150; i++)
        {
            // The archive's bytes damaged anywhere, most often in the zip's directory at its end (sizes, offsets).
            var zipBytes = Mutate(ckpt, rng, rng.Next(2) == 0 ? ckpt.Length - 1500 : 0);
            var path = tmp.Write($"zip{i}.pt", zipBytes);
            ImportCase($"archive mutant {i}", path);
            File.Delete(path);

            // The pickle inside a well-formed archive, damaged.
            path = tmp["pkl.pt"];
            Archive(path, Mutate(pickle, rng, 0), StoragesOf(Path.Combine(Fixture, "ckpt.pt")));
            ImportCase($"pickle mutant {i}", path);

            var metaPath = tmp.Write("meta.pkl", Mutate(meta, rng, 0));
            if (Outcome($"meta.pkl mutant {i}", () => NanoGptMeta.Read(metaPath)) is not null) errors++;
        }
        Assert.True(errors > 50, $"only {errors} of 150 damaged meta.pkl files were refused: the mutations are too weak to test anything");
        long grown = Process.GetCurrentProcess().PeakWorkingSet64 - peak;
        Assert.True(grown < 1L << 30, $"the peak working set grew by {grown / 1e6:F0} MB");
        Console.WriteLine($"450 damaged files in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// What a crafted ckpt.pt may declare, each refused in one line before anything of that size is allocated.
    [Theory]
    [InlineData("numel", "has 64 bytes, expected 4611686018427387904 × 4")]
    [InlineData("past", "reaches past its storage of 16 elements")]
    [InlineData("expanded", "reaches past its storage of 16 elements")]
    [InlineData("negative", "negative sizes, strides or offset")]
    [InlineData("overflow", "sizes beyond 64-bit arithmetic")]
    [InlineData("directory", "declares 2147483000 bytes, more than the")]
    [InlineData("digits", "an integer of 100000 characters")]
    [InlineData("length8", "ends in the middle of a value")]
    [InlineData("big numel", "a persistent id that is not a torch storage")]
    [InlineData("n_layer", "model_args 'n_layer' is missing or not an integer of 32 bits")]
    [InlineData("block_size", "tensor 'transformer.wpe.weight' has shape [16,4], the model expects [1000000000,4]")]
    public void Crafted_archives_are_refused_before_they_allocate(string craft, string message)
    {
        // transformer.wte.weight [4, 4] over storage 0 (16 floats), the crafted one; wpe [16, 4] over storage 1.
        var wte = new View(0, 16, 0, [4, 4], [4, 1]);
        var args = new Dictionary<string, BigInteger> { ["n_layer"] = 1, ["n_head"] = 1, ["n_embd"] = 4, ["block_size"] = 16, ["vocab_size"] = 4 };
        byte[]? tail = null;
        switch (craft)
        {
            case "numel": wte = wte with { Numel = 1L << 62 }; break;
            case "past": wte = wte with { Shape = [4, 5] }; break;
            case "expanded": wte = wte with { Shape = [1_000_000, 1_000_000], Stride = [0, 0] }; break;
            case "negative": wte = wte with { Stride = [-4, 1] }; break;
            case "overflow": wte = wte with { Shape = [1L << 40, 1L << 40], Stride = [1L << 40, 1] }; break;
            case "digits": tail = [(byte)'L', .. Encoding.ASCII.GetBytes(new string('9', 100_000)), (byte)'L', (byte)'\n']; break;
            case "length8": tail = [0x8d, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; break;
            case "big numel": wte = wte with { Numel = BigInteger.One << 70 }; break;
            case "n_layer": args["n_layer"] = 1L << 40; break;
            case "block_size": args["block_size"] = 1_000_000_000; break;
        }
        var pickle = Checkpoint(args, [("transformer.wte.weight", wte), ("transformer.wpe.weight", new View(1, 64, 0, [16, 4], [4, 1]))], tail);
        var path = tmp["crafted.pt"];
        Archive(path, pickle, [new byte[16 * 4], new byte[64 * 4]]);
        if (craft == "directory") DeclareSize(path, "archive/data.pkl", 2_147_483_000);
        var dir = tmp["out"];
        var error = Outcome(craft, () =>
        {
            using var foreign = NanoGptCheckpoint.Read(path);
            foreign.SaveCheckpoint(dir, new TokenizerSpec { Type = TokenizerSpec.CharsType, Name = "abc", Chars = ["a", "b", "c"] }, path);
        });
        Assert.NotNull(error);
        Assert.True(error.Contains(message), error);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Damaged_safetensors_in_a_checkpoint_fail_in_one_line()
    {
        var rng = new Random(26);
        manual_seed(1);
        var ckpt = tmp["ckpt"];
        using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 1, NEmbd = 4, BlockSize = 8, VocabSize = 8 }))
            CheckpointStore.Save(ckpt, model, new CheckpointConfig { Model = model.Config, Tokenizer = TokenizerSpec.Gpt2, Train = new TrainConfig() }, new TrainerState(), null);
        var weights = Path.Combine(ckpt, CheckpointStore.WeightsFile);
        var good = File.ReadAllBytes(weights);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(good, 0);
        int refused = 0;
        for (int i = 0; i < 200; i++)
        {
            // Mostly the 8-byte size and the JSON header (shapes, dtypes, offsets), sometimes the data.
            File.WriteAllBytes(weights, Mutate(good, rng, 0, rng.Next(4) == 0 ? good.Length : headerEnd));
            if (Outcome($"safetensors mutant {i}", () => CheckpointStore.LoadModel(ckpt).Model.Dispose()) is not null) refused++;
        }
        Assert.True(refused > 50, $"only {refused} of 200 damaged headers were refused");
    }

    // ---- mutations -------------------------------------------------------------------------------------------

    /// Interesting numbers for lengths and sizes, little-endian.
    private static readonly ulong[] Nasty = [0, 1, 0x7f, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x7fff_ffff_ffff_ffff, ulong.MaxValue, 1UL << 40];

    /// One to a few damages to bytes[from..to): flipped bytes, a nasty number written over, a cut, bytes inserted
    /// or repeated, or a long run of one pickle opcode.
    private static byte[] Mutate(byte[] seed, Random rng, int from, int to = -1)
    {
        var b = seed.ToList();
        from = Math.Clamp(from, 0, b.Count - 1);
        for (int n = rng.Next(1, 4); n > 0 && b.Count > 1; n--)
        {
            int end = to < 0 ? b.Count : Math.Min(to, b.Count);
            int at = rng.Next(Math.Min(from, end - 1), end);
            switch (rng.Next(7))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b[at] = (byte)rng.Next(256); break;
                case 2:
                    var v = BitConverter.GetBytes(Nasty[rng.Next(Nasty.Length)]);
                    for (int k = 0; k < (rng.Next(2) == 0 ? 4 : 8) && at + k < b.Count; k++) b[at + k] = v[k];
                    break;
                case 3: b.RemoveRange(at, b.Count - at); break;
                case 4: b.InsertRange(at, Enumerable.Range(0, rng.Next(1, 16)).Select(_ => (byte)rng.Next(256))); break;
                case 5:
                    int len = rng.Next(1, Math.Min(64, b.Count - at) + 1);
                    b.InsertRange(at, b.GetRange(at, len));
                    break;
                default: b.InsertRange(at, Enumerable.Repeat((byte)"(]}la2eu0"[rng.Next(9)], rng.Next(1, 5000))); break;
            }
            if (b.Count == 0) b.Add(0);
        }
        return [.. b];
    }

    // ---- crafting ----------------------------------------------------------------------------------------------

    /// The raw storages of an archive, in the order of their keys 0, 1, 2….
    private static List<byte[]> StoragesOf(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.Where(e => e.FullName.Contains("/data/")).OrderBy(e => int.Parse(e.Name)).Select(e =>
        {
            using var s = e.Open();
            var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        }).ToList();
    }

    /// A torch.save zip: archive/data.pkl and the storages archive/data/0, 1, … as stored entries.
    private static void Archive(string path, byte[] pickle, IReadOnlyList<byte[]> storages)
    {
        if (File.Exists(path)) File.Delete(path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Entry(string name, byte[] bytes)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Entry("archive/data.pkl", pickle);
        for (int i = 0; i < storages.Count; i++) Entry($"archive/data/{i}", storages[i]);
    }

    /// Rewrites the uncompressed size an entry declares in the zip's central directory (what the reader trusts).
    private static void DeclareSize(string path, string entry, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        var name = Encoding.ASCII.GetBytes(entry);
        for (int i = 0; i + 46 < bytes.Length; i++)
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 1 && bytes[i + 3] == 2
                && bytes.AsSpan(i + 46, name.Length).SequenceEqual(name))
            {
                BitConverter.GetBytes(size).CopyTo(bytes, i + 24);
                File.WriteAllBytes(path, bytes);
                return;
            }
        Assert.Fail($"no central directory entry {entry}");
    }

    /// A tensor as a pickle describes it: a view (offset, shape, stride) of storage Key holding Numel floats.
    private sealed record View(int Key, BigInteger Numel, long Offset, BigInteger[] Shape, BigInteger[] Stride);

    /// nanoGPT's ckpt layout, protocol 2: {model: {name: tensor, …}, model_args: {…}}, each tensor as torch writes
    /// it; tail is spliced in as the first value of model_args.
    private static byte[] Checkpoint(Dictionary<string, BigInteger> args, (string Name, View T)[] tensors, byte[]? tail)
    {
        var p = new List<byte> { 0x80, 2 };
        void Raw(params byte[] b) => p.AddRange(b);
        void Str(string s) { var b = Encoding.UTF8.GetBytes(s); Raw((byte)'X'); Raw(BitConverter.GetBytes(b.Length)); Raw(b); }
        void Int(BigInteger v) { var b = v.ToByteArray(); Raw(0x8a, (byte)b.Length); Raw(b); }
        void Global(string module, string name) => Raw(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        void Tuple(IEnumerable<BigInteger> items) { Raw((byte)'('); foreach (var i in items) Int(i); Raw((byte)'t'); }

        Raw((byte)'}', (byte)'(');
        Str("model");
        Raw((byte)'}', (byte)'(');
        foreach (var (name, t) in tensors)
        {
            Str(name);
            Global("torch._utils", "_rebuild_tensor_v2");
            Raw((byte)'(');
            Raw((byte)'('); Str("storage"); Global("torch", "FloatStorage"); Str(t.Key.ToString()); Str("cpu"); Int(t.Numel); Raw((byte)'t', (byte)'Q');
            Int(t.Offset); Tuple(t.Shape); Tuple(t.Stride); Raw(0x89);
            Global("collections", "OrderedDict"); Raw((byte)')', (byte)'R');
            Raw((byte)'t', (byte)'R');
        }
        Raw((byte)'u');
        Str("model_args");
        Raw((byte)'}', (byte)'(');
        if (tail is not null) { Str("first"); Raw(tail); }
        foreach (var (k, v) in args) { Str(k); Int(v); }
        Str("bias"); Raw(0x89);
        Raw((byte)'u', (byte)'u', (byte)'.');
        return [.. p];
    }
}
