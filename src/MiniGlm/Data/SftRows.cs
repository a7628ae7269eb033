namespace MiniGlm.Data;

/// Rows of block_size + 1 tokens built from encoded examples, in the three parallel per-token streams that
/// prepare-sft writes: ids, loss mask and document id.
///
/// Alignment, per row r of T + 1 tokens: the trainer takes x = ids[0..T), y = ids[1..T+1), mask = mask[0..T),
/// so mask[t] = 1 iff the prediction made from position t (of y[t] = ids[t+1]) is trained. The last token of
/// each document (and of the row) has mask 0: it would predict the next document, or nothing. Padding is
/// end-of-text with mask 0 and document id 0; documents in a row are numbered 1, 2, 3...
public sealed class SftRows(int rowTokens, int padId, SftLayout layout)
{
    // First fit only looks at the most recent open rows, which bounds the work per example; the oldest is
    // closed when this is exceeded, so rows still come out in the order they were opened.
    private const int OpenRowWindow = 64;

    private readonly List<List<SftSequence>> open = [];
    private readonly List<List<SftSequence>> closed = [];

    public long Rows => open.Count + closed.Count;
    public long Tokens => Rows * rowTokens;
    public long PaddingTokens => Tokens - used;
    private long used;

    public void Add(SftSequence seq)
    {
        if (seq.Length > rowTokens) throw new ArgumentException($"sequence of {seq.Length} tokens exceeds a row of {rowTokens}");
        used += seq.Length;
        if (layout == SftLayout.Packed)
            foreach (var row in open)
                if (row.Sum(s => s.Length) + seq.Length <= rowTokens) { row.Add(seq); return; }
        open.Add([seq]);
        if (layout == SftLayout.Padded || open.Count > OpenRowWindow) { closed.Add(open[0]); open.RemoveAt(0); }
    }

    /// Writes the rows: ids and document ids as uint16 token files, the mask as one byte (0/1) per token.
    public void Write(TokenFileWriter ids, Stream mask, TokenFileWriter? docs)
    {
        var maskRow = new byte[rowTokens];
        foreach (var row in closed.Concat(open))
        {
            Array.Clear(maskRow);
            int pos = 0, doc = 0;
            foreach (var seq in row)
            {
                doc++;
                var target = seq.TargetMask();
                for (int t = 0; t < seq.Length; t++)
                {
                    ids.Append(seq.Ids[t]);
                    docs?.Append(doc);
                    maskRow[pos + t] = t < target.Length && target[t] ? (byte)1 : (byte)0;
                }
                pos += seq.Length;
            }
            for (; pos < rowTokens; pos++) { ids.Append(padId); docs?.Append(0); }
            mask.Write(maskRow);
        }
    }
}
