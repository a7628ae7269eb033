using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// The docs are held to the code: each usage block in docs/cli.md is its command's `--help` output, every command
/// has one, and the config key tables list every key of TrainConfig (cli.md's with its real default). A change to
/// a command's usage or a key fails here until the docs follow.
public class DocsMatchCodeTests
{
    private static readonly string Docs = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "docs"));

    private static string Read(string file) => File.ReadAllText(Path.Combine(Docs, file)).ReplaceLineEndings("\n");

    /// The part of a Markdown file from a heading to the next heading of the same level.
    private static string Section(string text, string heading)
    {
        int start = text.IndexOf($"\n{heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{heading}' heading");
        var level = heading[..(heading.IndexOf(' ') + 1)];
        int end = text.IndexOf($"\n{level}", start + heading.Length + 2, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    private static string Normalize(string text) => string.Join("\n", text.ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd())).Trim('\n');

    [Fact]
    public void Every_usage_block_in_cli_md_is_its_commands_help_output()
    {
        var text = Read("cli.md");
        var blocks = Regex.Matches(text, @"<!-- \./miniglm (?<args>[^>]+?) --help -->\n```text\n(?<help>.*?)\n```", RegexOptions.Singleline);
        Assert.Equal(Regex.Matches(text, "```[a-z]*\nusage:").Count, blocks.Count); // no usage block without its marker
        var failures = new List<string>();
        var documented = new HashSet<string>();
        foreach (Match block in blocks)
        {
            var args = block.Groups["args"].Value.Split(' ');
            var (code, output, err) = Cli.Run([.. args, "--help"]);
            Assert.True(code == 0, $"./miniglm {string.Join(' ', args)} --help: exit {code}: {err}");
            documented.Add(args[0]);
            var (want, got) = (Normalize(output).Split('\n'), Normalize(block.Groups["help"].Value).Split('\n'));
            int line = Enumerable.Range(0, Math.Max(want.Length, got.Length))
                .FirstOrDefault(i => i >= want.Length || i >= got.Length || want[i] != got[i], -1);
            if (line >= 0)
                failures.Add($"./miniglm {string.Join(' ', args)} --help, line {line + 1}:\n  help: {want.ElementAtOrDefault(line)}\n  docs: {got.ElementAtOrDefault(line)}");
        }
        Assert.True(failures.Count == 0, "docs/cli.md differs from --help (paste the command's output into its block):\n" + string.Join("\n", failures));

        var (_, top, _) = Cli.Run("--help");
        var commands = Regex.Matches(top, @"^  (\S+) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(commands.Count > 10, top);
        Assert.Empty(commands.Except(documented));
        Assert.DoesNotContain(commands, c => !text.Contains($"| [{c}](#", StringComparison.Ordinal) && !text.Contains($"[{c}, ", StringComparison.Ordinal)
                                             && !text.Contains($", {c}](#", StringComparison.Ordinal));
    }

    [Fact]
    public void The_train_key_table_has_every_key_with_its_default()
    {
        var rows = Regex.Matches(Section(Read("cli.md"), "## train"), @"^\| `(?<key>[a-z0-9_]+)` \| (?<default>[^|]+?) \|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["default"].Value);
        Assert.Equal(TrainConfig.Keys.Order(), rows.Keys.Order());
        var defaults = JsonSerializer.SerializeToNode(new TrainConfig())!.AsObject();
        foreach (var (key, shown) in rows)
        {
            var value = defaults[key]!;
            bool same = value.GetValueKind() switch
            {
                JsonValueKind.String => shown == (value.GetValue<string>() is "" ? "`\"\"`" : $"`{value.GetValue<string>()}`"),
                JsonValueKind.True or JsonValueKind.False => shown == value.ToJsonString(),
                _ => double.TryParse(shown, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == value.GetValue<double>(),
            };
            Assert.True(same, $"docs/cli.md gives {key} the default {shown}, TrainConfig has {value.ToJsonString()}");
        }
    }

    [Fact]
    public void The_nanogpt_key_table_places_every_key()
    {
        var table = Section(Read("formats.md"), "## Many GPUs: pretrain with nanoGPT's `torchrun`, come back here");
        Assert.DoesNotContain(TrainConfig.Keys, k => !table.Contains($"`{k}`", StringComparison.Ordinal));
    }
}
