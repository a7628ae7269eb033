namespace MiniGlm.Serving;

/// A battle: two different models drawn at random, known to its client only as A and B until the vote. Each side
/// remembers the conversation it last answered and whether that answer was generated in full.
public sealed class ArenaBattle(string id, string client, ModelWorker a, ModelWorker b, DateTime started)
{
    private sealed record Answer(string Conversation, string Prompt, bool Complete);

    private readonly Answer?[] answers = new Answer?[2];

    public string Id => id;
    /// Who started it (the client's address): only they may generate its sides and vote.
    public string Client => client;
    public ModelWorker A => a;
    public ModelWorker B => b;
    public DateTime Started => started;
    public bool Voted { get; set; }

    public ModelWorker? Side(string side) => side switch { "a" => a, "b" => b, _ => null };

    /// A side is being answered: conversation identifies what it was asked, prompt is the user's last message.
    public void Answering(string side, string conversation, string prompt)
    {
        lock (this) answers[Index(side)] = new Answer(conversation, prompt, false);
    }

    /// The side's answer ended; it counts only if it ran to a natural end ("stop" or "length").
    public void Answered(string side, string conversation, string reason)
    {
        lock (this)
            if (answers[Index(side)] is { } x && x.Conversation == conversation)
                answers[Index(side)] = x with { Complete = reason is "stop" or "length" };
    }

    /// The prompt both sides answered in full, or null if they have not (yet).
    public string? CompleteConversation()
    {
        lock (this)
            return answers is [{ Complete: true } x, { Complete: true } y] && x.Conversation == y.Conversation ? x.Prompt : null;
    }

    private static int Index(string side) => side == "a" ? 0 : 1;
}
