using System.Text.Json.Serialization;

namespace MiniGlm.Model;

/// The shape of a GPT: the `model_args` of nanoGPT/MiniGLM, with the same key names.
public sealed record GptConfig
{
    [JsonPropertyName("n_layer")] public int NLayer { get; init; } = 6;
    [JsonPropertyName("n_head")] public int NHead { get; init; } = 8;
    [JsonPropertyName("n_embd")] public int NEmbd { get; init; } = 512;
    [JsonPropertyName("block_size")] public int BlockSize { get; init; } = 256;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50304;
    [JsonPropertyName("bias")] public bool Bias { get; init; }
    [JsonPropertyName("dropout")] public double Dropout { get; init; }

    [JsonIgnore] public int HeadSize => NEmbd / NHead;

    /// Rounds a tokenizer's vocabulary up to a multiple of 64 (50257 → 50304), as nanoGPT does for speed.
    public static int PadVocab(int tokenizerVocab) => (tokenizerVocab + 63) / 64 * 64;

    public void Validate()
    {
        if (NLayer < 1) throw new MiniGlmException($"n_layer must be at least 1, got {NLayer}");
        if (NHead < 1 || NEmbd % NHead != 0)
            throw new MiniGlmException($"n_embd ({NEmbd}) must be a positive multiple of n_head ({NHead})");
        if (BlockSize < 1) throw new MiniGlmException($"block_size must be at least 1, got {BlockSize}");
        if (VocabSize < 2) throw new MiniGlmException($"vocab_size must be at least 2, got {VocabSize}");
        if (Dropout is < 0 or >= 1) throw new MiniGlmException($"dropout must be in [0, 1), got {Dropout}");
    }
}
