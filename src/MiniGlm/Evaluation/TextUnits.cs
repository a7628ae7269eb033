using System.Text;

namespace MiniGlm.Evaluation;

/// How answers are cut into the units Rouge-L and character F1 compare: every Chinese (or other non-ASCII) letter or
/// digit is a unit of its own, a run of ASCII letters or digits is one lower-cased word, and everything else
/// (whitespace, punctuation, symbols) is dropped. Full-width forms are folded first, so Ａ１ equals A1. Punctuation is left out because
/// a poem's ，。 fall at fixed places and would give a wrong answer credit for its shape alone.
public static class TextUnits
{
    public static List<string> Of(string text)
    {
        var units = new List<string>();
        var word = new StringBuilder();
        void EndWord()
        {
            if (word.Length > 0) units.Add(word.ToString());
            word.Clear();
        }
        foreach (var rune in FoldWidth(text).EnumerateRunes())
        {
            if (rune.IsAscii && Rune.IsLetterOrDigit(rune)) { word.Append(char.ToLowerInvariant((char)rune.Value)); continue; }
            EndWord();
            if (Rune.IsLetterOrDigit(rune)) units.Add(rune.ToString());
        }
        EndWord();
        return units;
    }

    /// Full-width ASCII (U+FF01–U+FF5E, common in Chinese text) and the ideographic space as their ASCII forms.
    /// By hand because string.Normalize is a no-op under the invariant globalization this project builds with.
    public static string FoldWidth(string text) => string.Create(text.Length, text, (span, t) =>
    {
        for (int i = 0; i < t.Length; i++)
            span[i] = t[i] switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(t[i] - 0xFEE0),
                '\u3000' => ' ',
                var c => c,
            };
    });
}
