namespace MiniGlm.Model;

/// How a model's one-row decode steps read their weights; shared by every layer of one model.
internal sealed class DecodeOptions
{
    /// Int8 weight copies (<see cref="Int8Matrix"/>) instead of fp32 ones: a quarter of the bytes per token.
    public bool Int8 { get; set; }
}
