using MiniGlm.Model;
using MiniGlm.Generation;

namespace MiniGlm.Serving;

/// The models a server answers with, each on its own worker thread, named after its checkpoint directory
/// (`out/sft` → `sft`; a second `sft` becomes `sft-2`).
public sealed class ModelPool : IDisposable
{
    private readonly List<ModelWorker> workers = [];

    public IReadOnlyList<ModelWorker> Workers => workers;

    /// Loads every checkpoint (call outside any dispose scope: TorchSharp builds the modules here).
    public static ModelPool Load(IReadOnlyList<string> checkpoints, int queueCapacity, InferenceDtype dtype = InferenceDtype.Float32)
    {
        if (checkpoints.Count == 0) throw new MiniGlmException("serve needs at least one --ckpt");
        var pool = new ModelPool();
        try
        {
            foreach (var path in checkpoints) pool.Add(LoadedModel.Load(path, dtype), queueCapacity);
            return pool;
        }
        catch { pool.Dispose(); throw; }
    }

    public ModelWorker Add(LoadedModel model, int queueCapacity)
    {
        var baseName = NameOf(model.Path);
        var name = baseName;
        for (int n = 2; workers.Any(w => w.Name == name); n++) name = $"{baseName}-{n}";
        var worker = new ModelWorker(name, model, queueCapacity);
        workers.Add(worker);
        return worker;
    }

    public ModelWorker? Find(string? name) =>
        string.IsNullOrEmpty(name) ? workers[0] : workers.FirstOrDefault(w => w.Name == name);

    /// `out/sft` → `sft`; a checkpoint inside a run (`out/sft/best`) is named after the run.
    internal static string NameOf(string checkpointDir)
    {
        var dir = new DirectoryInfo(Path.GetFullPath(checkpointDir));
        var name = dir.Name is "best" or "latest" && dir.Parent is not null ? dir.Parent.Name : dir.Name;
        return name.Length == 0 ? "model" : name;
    }

    public void Dispose()
    {
        foreach (var w in workers) w.Dispose();
        workers.Clear();
    }
}
