namespace MiniGlm.Model;

/// The weight format a model is decoded in (<see cref="Decoding.Decoder"/>; one-token steps keep activations in fp32). Decoding one
/// token reads every weight once, so on CPU its speed follows the bytes per weight.
public enum InferenceDtype
{
    /// fp32 everywhere: the numbers training produced.
    Float32,
    /// bf16 weights (rounded to nearest even): half the bytes.
    BFloat16,
    /// int8 weights with one scale per row: a quarter of the bytes.
    Int8,
}
