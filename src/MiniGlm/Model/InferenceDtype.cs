namespace MiniGlm.Model;

/// The weight format of a model used for inference. Decoding one token reads every weight once, so on CPU its
/// speed follows the bytes per weight.
public enum InferenceDtype
{
    /// fp32 everywhere: the numbers training produced.
    Float32,
    /// bf16 everywhere: half the bytes; prefill is slower without AVX512-BF16 and every number is rounded.
    BFloat16,
    /// fp32 weights for the prompt, int8 copies (one scale per row) for one-token steps: a quarter of the bytes.
    Int8,
}
