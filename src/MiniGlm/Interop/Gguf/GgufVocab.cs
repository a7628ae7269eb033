using System.Text;
using MiniGlm.Interop.HuggingFace;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop.Gguf;

/// A tiktoken vocabulary as llama.cpp's `gpt2` tokenizer model wants it: every token spelled in GPT-2's
/// byte-to-unicode alphabet (so "Ġthe" for " the"), a type per token, and the BPE merges in order: the same
/// spelling and merges as Hugging Face's tokenizer.json (<see cref="ByteLevelAlphabet"/>, <see cref="BpeMerges"/>).
/// Ordered by the merged token's rank, merge priority equals tiktoken's rank order, so llama.cpp merges the same way.
public sealed record GgufVocab(IReadOnlyList<string> Tokens, IReadOnlyList<int> TokenTypes, IReadOnlyList<string> Merges)
{
    // llama_token_type: NORMAL = 1, CONTROL = 3, UNUSED = 5.
    private const int Normal = 1, Control = 3, Unused = 5;

    /// <param name="size">Ids in the list: the tokenizer's, or more for a model whose embedding has rows beyond
    /// them (Qwen2's 151936 for 151665 tokens): those are `[PADn]` tokens of type unused, as convert_hf_to_gguf writes.</param>
    public static GgufVocab From(TextTokenizer tokenizer, int? size = null)
    {
        var specialIds = tokenizer.SpecialTokens.Values.ToHashSet();
        var tokens = new string[size ?? tokenizer.VocabSize];
        var types = new int[tokens.Length];
        for (int id = tokenizer.VocabSize; id < tokens.Length; id++) (tokens[id], types[id]) = ($"[PAD{id}]", Unused);
        var ranks = new List<byte[]>();
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            bool special = specialIds.Contains(id);
            var bytes = tokenizer.TokenBytes(id);
            tokens[id] = special ? Encoding.UTF8.GetString(bytes) : ByteLevelAlphabet.Encode(bytes);
            types[id] = special ? Control : Normal;
            if (!special)
            {
                if (id != ranks.Count) throw new MiniGlmException($"tokenizer {tokenizer.Spec}: special token ids must come after every rank (id {id})");
                ranks.Add(bytes.ToArray());
            }
        }
        var merges = BpeMerges.FromRanks(ranks).Select(m => tokens[m.Left] + " " + tokens[m.Right]).ToList();
        return new GgufVocab(tokens, types, merges);
    }
}
