using System.Text.Json.Serialization;

namespace MiniGlm.Model;

/// The shape of a model: the `model_args` of nanoGPT/MiniGLM, with the same key names, and for `arch: "llama"`
/// the keys of Hugging Face's LlamaConfig/Qwen2Config (n_kv_head is their num_key_value_heads).
public sealed record GptConfig
{
    public const string Gpt2 = "gpt2", Llama = "llama";
    public static readonly string[] Archs = [Gpt2, Llama];

    /// gpt2: nanoGPT's (learned positions, LayerNorm, GELU MLP, tied head). llama: rotary positions, RMSNorm,
    /// SwiGLU MLP, grouped-query attention, no biases but optional q/k/v ones (Qwen2), tied or untied head.
    [JsonPropertyName("arch")] public string Arch { get; init; } = Gpt2;
    [JsonPropertyName("n_layer")] public int NLayer { get; init; } = 6;
    [JsonPropertyName("n_head")] public int NHead { get; init; } = 8;
    [JsonPropertyName("n_embd")] public int NEmbd { get; init; } = 512;
    [JsonPropertyName("block_size")] public int BlockSize { get; init; } = 256;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50304;
    [JsonPropertyName("bias")] public bool Bias { get; init; }
    [JsonPropertyName("dropout")] public double Dropout { get; init; }

    // llama only; absent from gpt2 checkpoints (defaults below).
    /// Key/value heads (grouped-query attention); 0 = n_head.
    [JsonPropertyName("n_kv_head"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int NKvHead { get; init; }
    /// Width of the SwiGLU MLP; 0 = 8/3·n_embd rounded up to a multiple of 64 (the parameters of a 4× GELU MLP).
    [JsonPropertyName("intermediate_size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int IntermediateSize { get; init; }
    [JsonPropertyName("rope_theta"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public double RopeTheta { get; init; }
    [JsonPropertyName("norm_eps"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public double NormEps { get; init; }
    /// Biases on the q, k and v projections only (Qwen2).
    [JsonPropertyName("qkv_bias"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool QkvBias { get; init; }
    /// A separate lm_head.weight instead of the token embedding (gpt2 is always tied).
    [JsonPropertyName("untied_head"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool UntiedHead { get; init; }

    [JsonIgnore] public bool IsLlama => Arch == Llama;
    [JsonIgnore] public int HeadSize => NEmbd / NHead;
    [JsonIgnore] public int KvHeads => IsLlama && NKvHead > 0 ? NKvHead : NHead;
    [JsonIgnore] public int MlpWidth => !IsLlama ? 4 * NEmbd : IntermediateSize > 0 ? IntermediateSize : (8 * NEmbd / 3 + 63) / 64 * 64;
    [JsonIgnore] public double RopeBase => RopeTheta > 0 ? RopeTheta : 10000.0;
    /// LayerNorm's eps for gpt2 (nanoGPT's 1e-5, fixed); RMSNorm's for llama (norm_eps, default 1e-5).
    [JsonIgnore] public double Eps => IsLlama && NormEps > 0 ? NormEps : 1e-5;

    /// Rounds a tokenizer's vocabulary up to a multiple of 64 (50257 → 50304), as nanoGPT does for speed.
    public static int PadVocab(int tokenizerVocab) => (tokenizerVocab + 63) / 64 * 64;

    public void Validate()
    {
        if (!Archs.Contains(Arch)) throw new MiniGlmException($"arch must be one of {string.Join(", ", Archs)}, got '{Arch}'");
        if (NLayer < 1) throw new MiniGlmException($"n_layer must be at least 1, got {NLayer}");
        if (NHead < 1 || NEmbd % NHead != 0)
            throw new MiniGlmException($"n_embd ({NEmbd}) must be a positive multiple of n_head ({NHead})");
        if (BlockSize < 1) throw new MiniGlmException($"block_size must be at least 1, got {BlockSize}");
        if (VocabSize < 2) throw new MiniGlmException($"vocab_size must be at least 2, got {VocabSize}");
        if (Dropout is < 0 or >= 1) throw new MiniGlmException($"dropout must be in [0, 1), got {Dropout}");
        if (!IsLlama && (NKvHead != 0 || IntermediateSize != 0 || RopeTheta != 0 || NormEps != 0 || QkvBias || UntiedHead))
            throw new MiniGlmException("n_kv_head, intermediate_size, rope_theta, norm_eps, qkv_bias and untied_head are llama settings; set arch to llama");
        if (!IsLlama) return;
        if (NKvHead < 0 || NHead % KvHeads != 0)
            throw new MiniGlmException($"n_head ({NHead}) must be a multiple of n_kv_head ({NKvHead})");
        if (HeadSize % 2 != 0) throw new MiniGlmException($"head size n_embd/n_head ({HeadSize}) must be even for rotary positions");
        if (IntermediateSize < 0) throw new MiniGlmException($"intermediate_size must be 0 (default) or positive, got {IntermediateSize}");
        if (RopeTheta < 0 || NormEps < 0) throw new MiniGlmException("rope_theta and norm_eps must be 0 (default) or positive");
        if (Bias) throw new MiniGlmException("bias is a gpt2 setting; a llama model has none but qkv_bias");
    }
}
