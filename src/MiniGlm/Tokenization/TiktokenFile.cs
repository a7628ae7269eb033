using System.Security.Cryptography;
using System.Text;
using MiniGlm.IO;

namespace MiniGlm.Tokenization;

/// tiktoken's rank file: one "base64(token bytes) rank" line per token, ranks 0…n-1. The special tokens are not in
/// it: a trained tokenizer reserves ReservedSpecials right after the last rank, in this order.
public static class TiktokenFile
{
    /// `<|endoftext|>` separates documents and ends a chat turn; the role markers are reserved for chat templates.
    /// Ordinary text never encodes to them: the pre-tokenizer does not know them, so their text is plain text.
    public static readonly IReadOnlyList<string> ReservedSpecials = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"];

    public static void Write(string path, IReadOnlyList<byte[]> tokens)
    {
        var text = new StringBuilder();
        for (int rank = 0; rank < tokens.Count; rank++) text.Append(Convert.ToBase64String(tokens[rank])).Append(' ').Append(rank).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// The spec of a trained tokenizer's rank file: our pattern, the reserved special tokens after the last rank.
    public static TokenizerSpec Describe(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new MiniGlmException($"{path}: tokenizer file not found (train one with ./miniglm tokenizer train)");
        var bytes = File.ReadAllBytes(full);
        int ranks = ReadRanks(bytes, path).Length;
        return new TokenizerSpec
        {
            Type = TokenizerSpec.FileType, Name = Path.GetFileNameWithoutExtension(full), FileName = Path.GetFileName(full),
            BaseDirectory = Path.GetDirectoryName(full), Sha256 = Sha256Of(bytes), Pattern = PreTokenPattern.Default,
            SpecialTokens = ReservedSpecials.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => ranks + x.i),
        };
    }

    /// The rank file a spec names, checked against the spec's SHA-256. A spec without one is refused: the hash is
    /// what says a dataset and a checkpoint share a tokenizer, and without it any file would be taken unchecked.
    public static byte[] ReadVerified(TokenizerSpec spec)
    {
        var path = spec.FilePath!;
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: tokenizer file missing (tokenizer {spec})");
        var bytes = File.ReadAllBytes(path);
        var sha = Sha256Of(bytes);
        if (string.IsNullOrEmpty(spec.Sha256))
            throw new MiniGlmException($"{path}: the tokenizer spec that names this file has no \"sha256\"; add \"sha256\": \"{sha}\" if this is the file meant");
        if (sha != spec.Sha256)
            throw new MiniGlmException($"{path}: sha256 {sha[..12]}… but tokenizer {spec} was recorded; the file was changed or replaced");
        return bytes;
    }

    public static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// The bytes of every rank: "base64 rank" lines, or (the packaged GPT-2 file) a "Capacity: N" header and one
    /// base64 token per line whose rank is its line number.
    public static byte[][] ReadRanks(byte[] file, string path)
    {
        var lines = Encoding.ASCII.GetString(file).Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("Capacity:")).ToArray();
        var bytes = new byte[lines.Length][];
        for (int i = 0; i < lines.Length; i++)
        {
            int space = lines[i].IndexOf(' ');
            int rank = i;
            byte[]? token = null;
            try
            {
                if (space >= 0) rank = int.Parse(lines[i].AsSpan(space + 1));
                token = Convert.FromBase64String(space < 0 ? lines[i] : lines[i][..space]);
            }
            catch (FormatException) { }
            if (token is null || rank < 0 || rank >= lines.Length || bytes[rank] is not null)
                throw new MiniGlmException($"{path}:{i + 1}: expected \"base64-token rank\" with ranks 0…{lines.Length - 1} each once");
            bytes[rank] = token;
        }
        return bytes;
    }
}
