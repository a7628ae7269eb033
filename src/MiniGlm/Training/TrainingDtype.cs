using static TorchSharp.torch;

namespace MiniGlm.Training;

/// The config key `dtype`: the arithmetic of training's matrix products, and why it was chosen.
public sealed record TrainingDtype(ScalarType Dtype, string Reason)
{
    public const string Auto = "auto", Float32 = "float32", BFloat16 = "bfloat16";
    public static readonly string[] Names = [Auto, Float32, BFloat16];

    public string Name => Dtype == ScalarType.BFloat16 ? BFloat16 : Float32;

    /// The dtype of matrix products under <see cref="Model.Autocast"/>: null for fp32 (no casts at all).
    public ScalarType? ComputeDtype => Dtype == ScalarType.Float32 ? null : Dtype;

    /// auto is bfloat16 only where bf16 arithmetic is native: emulated, it is slower than fp32.
    public static TrainingDtype Resolve(string name)
    {
        var flags = CpuFlags.Bf16;
        string found = flags.Count > 0 ? $"CPU has {string.Join(", ", flags)}" : $"CPU has no {string.Join(" or ", CpuFlags.NativeBf16)}";
        return name switch
        {
            Float32 => new(ScalarType.Float32, $"as configured; {found}"),
            BFloat16 => new(ScalarType.BFloat16, flags.Count > 0 ? $"as configured; {found}" : $"as configured; {found}: emulated, slower than float32"),
            Auto => flags.Count > 0 ? new(ScalarType.BFloat16, $"auto: {found}") : new(ScalarType.Float32, $"auto: {found}"),
            _ => throw new MiniGlmException($"config key 'dtype' must be one of {string.Join(", ", Names)}, got '{name}'"),
        };
    }
}
