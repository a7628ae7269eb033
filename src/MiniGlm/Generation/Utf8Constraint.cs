using System.Collections.Concurrent;
using MiniGlm.Tokenization;

namespace MiniGlm.Generation;

/// Keeps generated text valid UTF-8 by construction. A byte-level BPE token may hold part of a character (a
/// Chinese character is often two or three tokens), and a weak model can follow a lead byte with a token that
/// cannot continue it; decoded, that is U+FFFD. So each sample's byte stream carries a UTF-8 decoder state
/// (Unicode's table 3-7: which bytes may come next), and before each draw every token whose bytes would break
/// the stream is masked out; the model's choice among the rest is unchanged. Near the token limit a token may
/// not open a character that the tokens left cannot finish (one byte per token always can: byte-level
/// vocabularies have every byte), so a length cut never leaves half a character either. End-of-text and the
/// other special tokens may only come between characters.
public sealed class Utf8Constraint
{
    // States: 0 between characters; 1, 2, 3 = that many continuation bytes (80–BF) to go; then the four lead
    // bytes whose next byte has a narrower range (E0: A0–BF, ED: 80–9F, F0: 90–BF, F4: 80–8F), each followed
    // by 1 or 2 ordinary continuation bytes.
    private const int States = 8, Reject = -1, MaxNeed = 3;
    private static readonly int[] Need = [0, 1, 2, 3, 2, 2, 3, 3]; // bytes still to come in each state
    private static readonly ConcurrentDictionary<(TokenizerSpec, int), Utf8Constraint> Built = new();
    private readonly int[][] next; // next[state][token]: the state after the token's bytes, or Reject
    // Row state·(MaxNeed+1) + n: the tokens that break the stream in that state or leave more than n bytes to come.
    private readonly bool[] excluded;
    private readonly int vocab;

    /// One table per tokenizer and vocabulary, built once (a few ms) and kept for the process.
    public static Utf8Constraint For(TextTokenizer tokenizer, int modelVocab) =>
        Built.GetOrAdd((tokenizer.Spec, modelVocab), _ => new Utf8Constraint(tokenizer, modelVocab));

    private Utf8Constraint(TextTokenizer tokenizer, int vocab)
    {
        this.vocab = vocab;
        next = new int[States][];
        var rows = excluded = new bool[States * (MaxNeed + 1) * vocab];
        for (int s = 0; s < States; s++)
        {
            next[s] = new int[vocab];
            for (int id = 0; id < vocab; id++)
            {
                int end = next[s][id] = id >= tokenizer.VocabSize ? Reject : Advance(s, tokenizer.TokenBytes(id));
                for (int n = 0; n <= MaxNeed; n++)
                    rows[((long)s * (MaxNeed + 1) + n) * vocab + id] = end == Reject || Need[end] > n;
            }
        }
    }

    /// Masks one row of logits in place with −∞ where a token would break a stream in <paramref name="state"/>,
    /// or open a character that the tokensLeft − 1 tokens after this one could not finish.
    public void Mask(Span<float> logits, int state, int tokensLeft)
    {
        if (logits.Length != vocab) throw new ArgumentException($"logits of {logits.Length} ids for a table of {vocab}");
        var row = excluded.AsSpan((state * (MaxNeed + 1) + Math.Clamp(tokensLeft - 1, 0, MaxNeed)) * vocab, vocab);
        for (int id = 0; id < row.Length; id++)
            if (row[id]) logits[id] = float.NegativeInfinity;
    }

    /// The state after a sample's token (a token the mask excluded, never drawn, would restart the stream).
    public int Advance(int state, int token) => Math.Max(0, next[state][token]);

    private static int Advance(int state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            state = Step(state, b);
            if (state == Reject) return Reject;
        }
        return state;
    }

    private static int Step(int state, byte b) => state switch
    {
        0 => b switch
        {
            < 0x80 => 0,
            >= 0xC2 and <= 0xDF => 1,
            0xE0 => 4,
            0xED => 5,
            >= 0xE1 and <= 0xEF => 2,
            0xF0 => 6,
            >= 0xF1 and <= 0xF3 => 3,
            0xF4 => 7,
            _ => Reject, // 80–C1 cannot start a character, F5–FF never occur
        },
        1 or 2 or 3 => b is >= 0x80 and <= 0xBF ? state - 1 : Reject,
        4 => b is >= 0xA0 and <= 0xBF ? 1 : Reject,
        5 => b is >= 0x80 and <= 0x9F ? 1 : Reject,
        6 => b is >= 0x90 and <= 0xBF ? 2 : Reject,
        7 => b is >= 0x80 and <= 0x8F ? 2 : Reject,
        _ => Reject,
    };
}
