namespace MiniGlm.Questions;

/// Questions asked one after another in one chat, each with its answer. Written as {"messages": [...]} with the
/// last turn's Type and Key beside them: the form prepare-sft trains on and eval scores (the last answer).
public sealed record Conversation(IReadOnlyList<QaPair> Turns);
