using MiniGlm.IO;
using MiniGlm.Tokenization;

namespace MiniGlm.Data;

/// The data half of `prepare-sft`: JSON Lines conversations in; rows of block_size + 1 tokens out, as
/// train.bin / val.bin (uint16 ids), train_mask.bin / val_mask.bin (one 0/1 byte per token), with the packed
/// layout train_doc.bin / val_doc.bin (uint16 document id per token), and meta.json (kind "sft") written last.
public static class SftPreparer
{
    /// Recorded in meta.json so that a reader of the files need not find this comment.
    public const string Alignment =
        "each row holds block_size+1 tokens; x = ids[0..T), y = ids[1..T+1), mask = mask[0..T): mask[t] = 1 iff " +
        "y[t] is an answer token or an answer's closing end-of-text of the same document; padding is end-of-text " +
        "with mask 0 and doc id 0; doc ids (packed) number the documents of a row 1, 2, 3...";

    public static SftPrepareResult Prepare(SftOptions options, TextTokenizer tokenizer)
    {
        if (tokenizer.VocabSize > TokenFileWriter.MaxVocabSize)
            throw new MiniGlmException($"tokenizer {tokenizer.Spec.Type}:{tokenizer.Spec.Name} has {tokenizer.VocabSize} ids, but .bin files store uint16 ids (at most {TokenFileWriter.MaxVocabSize})");
        if (options.Inputs.Count == 0) throw new MiniGlmException("prepare-sft needs at least one --input JSONL file");
        if (options.BlockSize < 1 || options.BlockSize >= TokenFileWriter.MaxVocabSize)
            throw new MiniGlmException($"--block_size must be in [1, {TokenFileWriter.MaxVocabSize - 1}], got {options.BlockSize}");
        if (!(options.ValFraction >= 0 && options.ValFraction < 1))
            throw new MiniGlmException($"--val_fraction must be in [0, 1), got {options.ValFraction}");
        if (File.Exists(options.OutDir)) throw new MiniGlmException($"{options.OutDir}: is a file; --out must be a directory");

        var encoder = new SftEncoder(tokenizer, options.Template, options.BlockSize);
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<string>();
        var sources = new List<DatasetSource>();
        int read = 0, truncated = 0, maxTurns = 0;

        var train = EncodeAll(options.Inputs);
        List<SftSequence> val;
        if (options.ValInputs is { Count: > 0 }) val = EncodeAll(options.ValInputs);
        else
        {
            // The last fraction in file order, so the split does not depend on anything but the input.
            int nVal = (int)(train.Count * options.ValFraction);
            val = train.GetRange(train.Count - nVal, nVal);
            train.RemoveRange(train.Count - nVal, nVal);
        }
        if (train.Count == 0)
            throw new MiniGlmException($"{string.Join(' ', options.Inputs)}: no usable SFT examples for train ({read} read; skipped: {Describe(skipped)})");

        int rowTokens = options.BlockSize + 1;
        var trainRows = Rows(train);
        var valRows = Rows(val);
        var summary = new SftSummary
        {
            ExamplesRead = read, ExamplesKept = train.Count + val.Count, Skipped = skipped, Truncated = truncated,
            MaxTurns = maxTurns, TrainExamples = train.Count, ValExamples = val.Count, TrainRows = trainRows.Rows, ValRows = valRows.Rows,
            PaddingFraction = (double)(trainRows.PaddingTokens + valRows.PaddingTokens) / (trainRows.Tokens + valRows.Tokens),
        };
        var meta = new DatasetMeta
        {
            Kind = DatasetMeta.Sft, Tokenizer = tokenizer.Spec, VocabSize = tokenizer.VocabSize, EotToken = tokenizer.EotId,
            TrainTokens = trainRows.Tokens, ValTokens = valRows.Tokens,
            // Characters are a pretrain notion (the split point); SFT splits by example, see "sft".
            TrainChars = 0, ValChars = 0,
            ValFraction = options.ValInputs is { Count: > 0 } ? 0 : options.ValFraction, Sources = sources,
            Created = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            Layout = options.Layout, BlockSize = options.BlockSize,
            TrainRows = trainRows.Rows, ValRows = valRows.Rows, Alignment = Alignment,
            ChatTemplate = options.Template, SftSummary = summary,
        };

        var dir = options.OutDir;
        Directory.CreateDirectory(dir);
        // No meta.json while the .bin files change: a crash in between must not leave an old one vouching for them.
        File.Delete(Path.Combine(dir, DatasetMeta.FileName));
        WriteSplit(trainRows, DatasetMeta.TrainPath(dir), DatasetMeta.MaskPath(dir, val: false), DatasetMeta.DocPath(dir, val: false), options.Layout);
        WriteSplit(valRows, DatasetMeta.ValPath(dir), DatasetMeta.MaskPath(dir, val: true), DatasetMeta.DocPath(dir, val: true), options.Layout);
        meta = meta with { Tokenizer = tokenizer.Spec.SaveTo(dir) };
        meta.Save(dir);
        return new SftPrepareResult(meta, summary, problems);

        List<SftSequence> EncodeAll(IReadOnlyList<string> files)
        {
            var result = SftReader.Read(files, options.Strict);
            read += result.LinesRead;
            sources.AddRange(result.Sources);
            problems.AddRange(result.Problems);
            foreach (var (reason, n) in result.Skipped) skipped[reason] = skipped.GetValueOrDefault(reason) + n;
            var seqs = new List<SftSequence>(result.Examples.Count);
            foreach (var example in result.Examples)
            {
                var seq = encoder.Encode(example, out var reason);
                if (seq is null)
                {
                    var message = $"{example.Where}: {reason}: the prompt needs more than {options.BlockSize} tokens";
                    if (options.Strict) throw new MiniGlmException(message);
                    problems.Add(message);
                    skipped[reason!] = skipped.GetValueOrDefault(reason!) + 1;
                    continue;
                }
                if (seq.Truncated) truncated++;
                maxTurns = Math.Max(maxTurns, example.Turns.Count);
                seqs.Add(seq);
            }
            return seqs;
        }

        SftRows Rows(List<SftSequence> seqs)
        {
            var rows = new SftRows(rowTokens, tokenizer.EotId, options.Layout);
            foreach (var s in seqs) rows.Add(s);
            return rows;
        }
    }

    private static void WriteSplit(SftRows rows, string idsPath, string maskPath, string docPath, SftLayout layout)
    {
        // Each file is replaced atomically; a doc file left by an earlier packed run is removed, not left stale.
        AtomicFile.Write(idsPath, idsTmp => AtomicFile.Write(maskPath, maskTmp =>
        {
            if (layout == SftLayout.Packed) AtomicFile.Write(docPath, docTmp => Fill(idsTmp, maskTmp, docTmp));
            else Fill(idsTmp, maskTmp, null);
        }));
        if (layout != SftLayout.Packed) File.Delete(docPath);

        void Fill(string idsTmp, string maskTmp, string? docTmp)
        {
            using var ids = TokenFileWriter.Create(idsTmp, idsPath);
            using var mask = new FileStream(maskTmp, FileMode.Create, FileAccess.Write);
            using var docs = docTmp is null ? null : TokenFileWriter.Create(docTmp, docPath);
            rows.Write(ids, mask, docs);
            ids.Flush(); docs?.Flush(); mask.Flush(flushToDisk: true);
        }
    }

    private static string Describe(IReadOnlyDictionary<string, int> skipped) =>
        skipped.Count == 0 ? "none" : string.Join(", ", skipped.Select(kv => $"{kv.Value} {kv.Key}"));
}
