using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MiniGlm.Checkpoints;
using MiniGlm.IO;
using MiniGlm.Model;

namespace MiniGlm.Tests;

/// What the checkpoint files must withstand: crafted weights headers, leftovers of killed writers.
public class CheckpointFileTests
{
    /// Rewrites the safetensors header of a tiny checkpoint's weights.
    private static void Craft(string weights, Action<JsonObject> change)
    {
        var bytes = File.ReadAllBytes(weights);
        int size = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(bytes.AsSpan(8, size))!.AsObject();
        change(header);
        var text = Encoding.UTF8.GetBytes(header.ToJsonString());
        var crafted = new byte[8 + text.Length + bytes.Length - 8 - size];
        BinaryPrimitives.WriteUInt64LittleEndian(crafted, (ulong)text.Length);
        text.CopyTo(crafted, 8);
        bytes.AsSpan(8 + size).CopyTo(crafted.AsSpan(8 + text.Length));
        File.WriteAllBytes(weights, crafted);
    }

    [Fact]
    public void A_crafted_weights_header_is_refused_before_anything_is_allocated()
    {
        using var dir = new TempDir();
        var ckpt = TinyCheckpoint.Create(dir["ckpt"]);
        var weights = Path.Combine(ckpt, CheckpointStore.WeightsFile);
        var name = "transformer.wte.weight";
        Craft(weights, h => h[name]!["shape"] = new JsonArray(1_000_000, 1_000_000)); // 4 TB declared
        var e = Assert.Throws<MiniGlmException>(() => CheckpointStore.LoadModel(ckpt));
        Assert.Contains(name, e.Message);

        var fresh = TinyCheckpoint.Create(dir["ckpt2"]);
        Craft(Path.Combine(fresh, CheckpointStore.WeightsFile), h => h[name]!["data_offsets"] = new JsonArray(0, long.MaxValue));
        Assert.Throws<MiniGlmException>(() => CheckpointStore.LoadModel(fresh));

        var huge = Path.Combine(dir["ckpt3"]);
        TinyCheckpoint.Create(huge);
        var file = Path.Combine(huge, CheckpointStore.WeightsFile);
        var bytes = File.ReadAllBytes(file);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2); // a header "larger" than the file
        File.WriteAllBytes(file, bytes);
        Assert.Contains("does not fit", Assert.Throws<MiniGlmException>(() => CheckpointStore.LoadModel(huge)).Message);
    }

    [Fact]
    public void Leftovers_of_dead_writers_are_removed_and_a_live_writer_s_are_kept()
    {
        using var dir = new TempDir();
        var dead = Directory.CreateDirectory(dir["run/latest.tmp-999999999"]).FullName; // no such process
        File.WriteAllText(dir["run/metrics.jsonl.tmp-999999998"], "x");
        var mine = Directory.CreateDirectory(dir[$"run/best.tmp-{Environment.ProcessId}"]).FullName;
        File.WriteAllText(dir["run/notes.tmp-x"], "not a temp name");
        AtomicFile.RemoveStale(dir["run"]);
        Assert.False(Directory.Exists(dead));
        Assert.False(File.Exists(dir["run/metrics.jsonl.tmp-999999998"]));
        Assert.True(Directory.Exists(mine));
        Assert.True(File.Exists(dir["run/notes.tmp-x"]));
    }
}
