using MiniGlm;

namespace MiniGlm.Cli;

/// Arguments in the nanoGPT style: positionals (e.g. a config file), `--key=value`, `--key value [value…]` and bare
/// `--flag`. Keys are snake_case; the kebab-case spelling (`--max-new-tokens`) means the same key.
public sealed class CommandLine
{
    public List<string> Positionals { get; } = [];
    /// Options in the order given; a key given twice keeps both (the later wins where one value is read).
    public List<KeyValuePair<string, List<string>>> Options { get; } = [];
    private readonly HashSet<string> used = [];

    public CommandLine(IEnumerable<string> args)
    {
        List<string>? current = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--") && arg.Length > 2)
            {
                var body = arg[2..];
                int eq = body.IndexOf('=');
                var key = Normalize(eq < 0 ? body : body[..eq]);
                current = eq < 0 ? [] : [body[(eq + 1)..]];
                Options.Add(new(key, current));
                if (eq >= 0) current = null; // `--k=v` takes no further values
            }
            else if (current is not null) current.Add(arg);
            else Positionals.Add(arg);
        }
    }

    public static string Normalize(string key) => key.Replace('-', '_');

    public bool Has(string key) => Options.Any(o => o.Key == key);

    /// All values given for a key (across repeats), e.g. `--input a b --input c`.
    public List<string> Values(string key)
    {
        used.Add(key);
        return Options.Where(o => o.Key == key).SelectMany(o => o.Value).ToList();
    }

    public string? Get(string key)
    {
        used.Add(key);
        var given = Options.LastOrDefault(o => o.Key == key);
        if (given.Key is null) return null;
        if (given.Value.Count > 1)
            throw new MiniGlmException($"--{key} takes one value, got {given.Value.Count}: {string.Join(" ", given.Value)}");
        return given.Value.Count == 0 ? "true" : given.Value[0];
    }

    public string Require(string key, string what) =>
        Get(key) ?? throw new MiniGlmException($"missing --{key} ({what})");

    public bool Flag(string key)
    {
        var v = Get(key);
        return v is not null && (v.ToLowerInvariant() is "true" or "1" or "yes"
            || (v.ToLowerInvariant() is "false" or "0" or "no" ? false
                : throw new MiniGlmException($"--{key} is a flag: expects true or false, got {v}")));
    }

    public int Int(string key, int fallback, int min = int.MinValue)
    {
        var v = Get(key);
        if (v is null) return fallback;
        if (!int.TryParse(v, out var n) || n < min)
            throw new MiniGlmException($"--{key} expects an integer{(min > int.MinValue ? $" ≥ {min}" : "")}, got {v}");
        return n;
    }

    public double Double(string key, double fallback)
    {
        var v = Get(key);
        if (v is null) return fallback;
        if (!double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d))
            throw new MiniGlmException($"--{key} expects a number, got {v}");
        return d;
    }

    /// Every option as a `key=value` config override (the last value of a repeated key), except those named.
    public List<KeyValuePair<string, string>> Overrides(params string[] except) =>
        Options.Where(o => !except.Contains(o.Key)).Select(o => new KeyValuePair<string, string>(o.Key, Get(o.Key)!)).ToList();

    /// Rejects options the command did not read: a typo must not be silently ignored.
    public void RejectUnknown(string command)
    {
        var unknown = Options.Select(o => o.Key).FirstOrDefault(k => !used.Contains(k));
        if (unknown is not null) throw new MiniGlmException($"{command}: unknown option --{unknown} (see ./miniglm {command} --help)");
    }
}
