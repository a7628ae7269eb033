using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop.HuggingFace;

/// A byte-level BPE as Hugging Face's `tokenizers` describes it: tokenizer.json (vocab, merges, our pre-tokenizer
/// regex as a Split then ByteLevel without its own regex) and tokenizer_config.json (special tokens, the chat
/// template from <see cref="ChatTemplateFormats"/>, so apply_chat_template renders 问：/答：). Read back from
/// tokenizer.json, or vocab.json (GPT-2's slow-tokenizer files, with GPT-2's pattern).
public static class HfTokenizer
{
    public const string JsonFile = "tokenizer.json", ConfigFile = "tokenizer_config.json", VocabFile = "vocab.json";

    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string dir, TextTokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        if (tokenizer.Spec.Type == TokenizerSpec.CharsType)
            throw new MiniGlmException($"tokenizer {tokenizer.Spec}: a character vocabulary has no Hugging Face tokenizer.json here; export with a BPE tokenizer");
        var special = tokenizer.SpecialTokens.OrderBy(kv => kv.Value).ToList();
        int ranks = special.Min(kv => kv.Value);
        var tokens = Enumerable.Range(0, ranks).Select(i => tokenizer.TokenBytes(i).ToArray()).ToList();
        var vocab = new JsonObject();
        for (int i = 0; i < ranks; i++) vocab[ByteLevelAlphabet.Encode(tokens[i])] = i;
        foreach (var (text, id) in special) vocab[text] = id;
        var merges = new JsonArray(BpeMerges.FromRanks(tokens)
            .Select(m => (JsonNode)(ByteLevelAlphabet.Encode(tokens[m.Left]) + " " + ByteLevelAlphabet.Encode(tokens[m.Right]))).ToArray());
        var root = new JsonObject
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = new JsonArray(special.Select(kv => (JsonNode)new JsonObject
            {
                ["id"] = kv.Value, ["content"] = kv.Key, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = ToOniguruma(Pattern(tokenizer.Spec)) }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        File.WriteAllText(Path.Combine(dir, JsonFile), root.ToJsonString(Json));

        var eot = TextTokenizer.EndOfText;
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast", ["model_max_length"] = contextLength,
            ["bos_token"] = eot, ["eos_token"] = eot, ["unk_token"] = eot, ["pad_token"] = eot,
            ["add_bos_token"] = false, ["add_prefix_space"] = false, ["clean_up_tokenization_spaces"] = false,
            ["chat_template"] = ChatTemplateFormats.Jinja(template),
        };
        File.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJsonString(new JsonSerializerOptions(Json) { WriteIndented = true }));
    }

    /// Reads the tokenizer of a Hugging Face directory: tokenizer.json, else vocab.json; null if it has neither.
    /// A vocabulary equal to GPT-2's is GPT-2's; any other becomes a rank file written into scratchDir.
    public static TokenizerSpec? Read(string dir, string scratchDir)
    {
        var jsonPath = Path.Combine(dir, JsonFile);
        var vocabPath = Path.Combine(dir, VocabFile);
        JsonElement vocab, root = default;
        string pattern = TextTokenizer.Gpt2Pattern, source;
        List<(string Text, int Id)> added = [];
        JsonDocument doc;
        if (File.Exists(jsonPath))
        {
            source = jsonPath;
            doc = Parse(jsonPath);
            root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.GetProperty("type").GetString() != "BPE" || !model.TryGetProperty("vocab", out vocab))
                throw new MiniGlmException($"{jsonPath}: not a BPE tokenizer (model.type must be BPE with a vocab); pass --tokenizer");
            if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
                added = at.EnumerateArray().Select(t => (t.GetProperty("content").GetString()!, t.GetProperty("id").GetInt32())).ToList();
            pattern = SplitPattern(root) ?? pattern;
        }
        else if (File.Exists(vocabPath))
        {
            source = vocabPath;
            doc = Parse(vocabPath);
            vocab = doc.RootElement;
        }
        else return null;

        using (doc)
        {
            var addedTexts = added.Select(a => a.Text).ToHashSet();
            var special = new Dictionary<string, int>();
            var byId = new SortedDictionary<int, byte[]>();
            foreach (var entry in vocab.EnumerateObject())
            {
                int id = entry.Value.GetInt32();
                if (addedTexts.Contains(entry.Name) || entry.Name.StartsWith("<|") && entry.Name.EndsWith("|>")) { special[entry.Name] = id; continue; }
                byId[id] = ByteLevelAlphabet.Decode(entry.Name)
                    ?? throw new MiniGlmException($"{source}: token \"{entry.Name}\" is not byte-level (not a GPT-2-style BPE); pass --tokenizer");
            }
            foreach (var (text, id) in added) special[text] = id;
            if (byId.Count == 0 || byId.Keys.First() != 0 || byId.Keys.Last() != byId.Count - 1)
                throw new MiniGlmException($"{source}: the token ids are not 0…n-1 before the special tokens; pass --tokenizer");
            if (!special.ContainsKey(TextTokenizer.EndOfText))
                throw new MiniGlmException($"{source}: no {TextTokenizer.EndOfText} token; pass --tokenizer");
            var tokens = byId.Values.ToList();
            var gpt2 = TextTokenizer.Load(TokenizerSpec.Gpt2);
            if (tokens.Count == gpt2.EotId && special.Count == 1 && special[TextTokenizer.EndOfText] == gpt2.EotId && pattern == TextTokenizer.Gpt2Pattern
                && tokens.Select((t, i) => gpt2.TokenBytes(i).SequenceEqual(t)).All(x => x))
                return TokenizerSpec.Gpt2;
            Directory.CreateDirectory(scratchDir);
            var file = Path.Combine(scratchDir, TokenizerSpec.StoredFileName);
            TiktokenFile.Write(file, tokens);
            return new TokenizerSpec
            {
                Type = TokenizerSpec.FileType, Name = Path.GetFileName(Path.GetFullPath(dir)), FileName = TokenizerSpec.StoredFileName,
                BaseDirectory = scratchDir, Sha256 = TiktokenFile.Sha256Of(File.ReadAllBytes(file)), Pattern = pattern, SpecialTokens = special,
            };
        }
    }

    /// The .NET pattern of a Split pre-tokenizer (ours), or GPT-2's for a ByteLevel one with its own regex.
    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object) return null;
        var steps = pre.TryGetProperty("pretokenizers", out var seq) ? seq.EnumerateArray().ToList() : [pre];
        foreach (var step in steps)
            if (step.GetProperty("type").GetString() == "Split" && step.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var rx))
                return FromOniguruma(rx.GetString()!);
        return null;
    }

    private static string Pattern(TokenizerSpec spec) => spec.IsFile ? spec.Pattern! : TextTokenizer.Gpt2Pattern;

    /// .NET's class subtraction `[A-[B]]` is Oniguruma's intersection `[A&&[^B]]` (HF tokenizers uses Oniguruma);
    /// \uXXXX escapes become the characters themselves, which both read.
    public static string ToOniguruma(string pattern) =>
        Regex.Replace(pattern.Replace("-[", "&&[^"), @"\\u([0-9A-Fa-f]{4})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());

    public static string FromOniguruma(string pattern)
    {
        var escaped = new System.Text.StringBuilder();
        foreach (var c in pattern.Replace("&&[^", "-[")) escaped.Append(c > 0x7F ? $"\\u{(int)c:X4}" : c.ToString());
        return escaped.ToString();
    }

    private static JsonDocument Parse(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new MiniGlmException($"{path}: not valid JSON ({e.Message})"); }
    }
}
