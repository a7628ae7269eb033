namespace MiniGlm.Questions;

/// One fact a question asks: its type, whether it is held out (never trained), what fills the phrasing (X), the
/// gold answer and the key a correct answer contains, and the poem and poet it is about (for follow-up questions).
internal sealed record PoetryFact(string Type, bool HeldOut, string X, string Answer, string Key, Poem? Poem, string Author);

/// A trained fact and the training questions that ask it.
internal sealed record AskedFact(PoetryFact Fact, IReadOnlyList<QaPair> Questions);
