namespace MiniGlm.Interop.Gguf;

/// The weight format of an exported GGUF file (`--dtype`): the type of its weight matrices and embeddings.
/// Norms, biases and the position table stay F32 in every format, as llama.cpp's own converter keeps them.
public sealed record GgufFileType(string Name, GgufTensorType MatrixType, uint LlamaFileType)
{
    // llama_ftype: LLAMA_FTYPE_ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7.
    public static GgufFileType F32 { get; } = new("f32", GgufTensorType.F32, 0);
    public static GgufFileType F16 { get; } = new("f16", GgufTensorType.F16, 1);
    public static GgufFileType Q8_0 { get; } = new("q8_0", GgufTensorType.Q8_0, 7);

    public static IReadOnlyList<GgufFileType> All { get; } = [F32, F16, Q8_0];

    public static GgufFileType Parse(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new MiniGlmException($"--dtype must be one of {string.Join(", ", All.Select(t => t.Name))}, got '{name}'");

    public override string ToString() => Name;
}
