using System.Security.Cryptography;
using System.Text.Json;

namespace MiniGlm.Tests;

/// Hugging Face's own JavaScript implementations as checkers of our exports: @huggingface/transformers (AutoTokenizer,
/// apply_chat_template), @huggingface/jinja and @huggingface/gguf, at the exact versions of NodeCheckers/package-lock.json.
/// `npm ci` installs them once into a cache directory named by the lock file's hash (MINIGLM_NODE_CHECKERS_CACHE, else
/// ~/.cache/miniglm/node-checkers), shared by every later run on the machine; install scripts are not run (they
/// would fetch binaries from outside the registry, and nothing here needs them). NodeCheckers/checkers.mjs runs them.
public static class NodeCheckers
{
    public const string Tool = "node + npm: @huggingface/transformers 4.3.1, @huggingface/jinja 0.5.11, @huggingface/gguf 0.4.6";
    private static readonly string Source = Path.Combine(AppContext.BaseDirectory, "NodeCheckers");
    private static readonly Lazy<(string? Dir, string WhyNot)> installed = new(Install);

    /// Marks the calling test as a check by these tools (installing them on first use); see <see cref="OutsideCheck"/>.
    public static void Require([System.Runtime.CompilerServices.CallerFilePath] string file = "", [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        OutsideCheck.Require(Tool, installed.Value.Dir is not null, installed.Value.WhyNot, file, test);

    /// Runs `node checkers.mjs command args…` and parses the JSON it prints.
    public static JsonElement Run(string command, params string[] args)
    {
        var dir = installed.Value.Dir ?? throw new InvalidOperationException("call NodeCheckers.Require first");
        var (code, stdout, stderr) = Exec("node", dir, TimeSpan.FromMinutes(5), ["checkers.mjs", command, .. args]);
        Assert.True(code == 0, $"node checkers.mjs {command}: exit {code}\n{stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static (string? Dir, string WhyNot) Install()
    {
        var version = Exec("node", Source, TimeSpan.FromMinutes(1), ["--version"]);
        if (version.Code != 0) return (null, "node is not installed (apt-get install nodejs npm)");
        if (int.TryParse(version.Out.TrimStart('v').Split('.')[0], out var major) && major < 20) return (null, $"node {version.Out.Trim()} is older than 20");
        if (Exec("npm", Source, TimeSpan.FromMinutes(1), ["--version"]).Code != 0) return (null, "npm is not installed (apt-get install npm)");

        var lockFile = File.ReadAllBytes(Path.Combine(Source, "package-lock.json"));
        var root = Environment.GetEnvironmentVariable("MINIGLM_NODE_CHECKERS_CACHE") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "miniglm", "node-checkers");
        var dir = Path.Combine(root, Convert.ToHexStringLower(SHA256.HashData(lockFile))[..16]);
        var done = Path.Combine(dir, ".installed");
        if (!File.Exists(done))
        {
            // Installed beside the target and moved into place whole, so a concurrent run never sees half of it.
            var tmp = $"{dir}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
            Directory.CreateDirectory(tmp);
            foreach (var f in new[] { "package.json", "package-lock.json" }) File.Copy(Path.Combine(Source, f), Path.Combine(tmp, f));
            var npm = Exec("npm", tmp, TimeSpan.FromMinutes(15), ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]);
            if (npm.Code != 0)
            {
                Directory.Delete(tmp, true);
                return (null, $"npm ci failed (exit {npm.Code}): {npm.Err.Trim()}");
            }
            File.WriteAllText(Path.Combine(tmp, ".installed"), "");
            try { Directory.Move(tmp, dir); }
            catch (IOException) when (File.Exists(done)) { Directory.Delete(tmp, true); } // another run got there first
        }
        // The script lives beside node_modules so that its imports resolve there; rewritten when it changed.
        var script = File.ReadAllText(Path.Combine(Source, "checkers.mjs"));
        var target = Path.Combine(dir, "checkers.mjs");
        if (!File.Exists(target) || File.ReadAllText(target) != script)
        {
            var tmpScript = $"{target}.tmp-{Guid.NewGuid():N}";
            File.WriteAllText(tmpScript, script);
            File.Move(tmpScript, target, overwrite: true);
        }
        return (dir, "");
    }

    private static (int Code, string Out, string Err) Exec(string program, string workDir, TimeSpan timeout, string[] args) =>
        ExternalProcess.Run(program, args, workDir, timeout);
}
