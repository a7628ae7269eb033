using MiniGlm.IO;
using MiniGlm.Interop.Pickle;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop.NanoGpt;

/// nanoGPT's character-level vocabulary file `meta.pkl` (data/shakespeare_char/prepare.py): a pickled dict
/// {vocab_size, itos: {id: char}, stoi: {char: id}}. Read with the safe <see cref="PickleReader"/> (no globals at
/// all are allowed), written for an exported character-level model.
public static class NanoGptMeta
{
    public static TokenizerSpec Read(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: file not found");
        var root = new PickleReader(path, new Dictionary<string, PickleReader.Callable?>()).Read(File.ReadAllBytes(path));
        if (root is not Dictionary<object, object?> meta || !meta.TryGetValue("itos", out var itosValue) || itosValue is not Dictionary<object, object?> itos)
            throw new MiniGlmException($"{path}: not a nanoGPT meta.pkl (expected a dict with 'itos': {{id: character}})");
        if (meta.TryGetValue("tokenizer", out var kind) && itos.Count == 0)
            throw new MiniGlmException($"{path}: a meta.pkl for tokenizer '{kind}', not a character vocabulary");
        var chars = new string[itos.Count];
        foreach (var (key, value) in itos)
        {
            if (key is not long id || id < 0 || id >= chars.Length || value is not string c || chars[id] is not null)
                throw new MiniGlmException($"{path}: 'itos' must map the ids 0…{chars.Length - 1} each once to a character, found {key} → {value}");
            chars[id] = c;
        }
        if (meta.TryGetValue("vocab_size", out var size) && size is long n && n != chars.Length)
            throw new MiniGlmException($"{path}: vocab_size is {n} but 'itos' has {chars.Length} characters");
        var spec = new TokenizerSpec { Type = TokenizerSpec.CharsType, Name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? "chars", Chars = chars };
        TextTokenizer.Load(spec); // checks one code point per entry, no duplicates
        return spec;
    }

    public static void Write(string path, IReadOnlyList<string> chars)
    {
        var itos = new Dictionary<object, object?>();
        var stoi = new Dictionary<object, object?>();
        for (int i = 0; i < chars.Count; i++) { itos[(long)i] = chars[i]; stoi[chars[i]] = (long)i; }
        var meta = new Dictionary<object, object?> { ["vocab_size"] = (long)chars.Count, ["itos"] = itos, ["stoi"] = stoi };
        AtomicFile.WriteAllBytes(path, PickleWriter.Write(meta));
    }
}
