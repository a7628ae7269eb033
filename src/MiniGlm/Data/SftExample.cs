namespace MiniGlm.Data;

/// One exchange of a conversation: what the user asked and what the assistant answered.
public sealed record SftTurn(string User, string Assistant);

/// One supervised fine-tuning example: a conversation of one or more turns, an optional system text, and where
/// it came from (for error messages).
public sealed record SftExample(IReadOnlyList<SftTurn> Turns, string? System = null, string File = "", int Line = 0)
{
    public string Where => $"{File}:{Line}";
}
