using System.Diagnostics;
using System.Security.Cryptography;
using MiniGlm.IO;
using MiniGlm.Tokenization;

namespace MiniGlm.Data;

/// The `prepare` stage: text files in, nanoGPT's train.bin / val.bin / meta.json out.
///
/// Pass 1 validates the UTF-8, counts characters and hashes every file; pass 2 reads them again and encodes.
/// Like nanoGPT's prepare.py the first (1 - val_fraction) of the concatenated text's characters are train and
/// the rest val; each file is a document followed by the end-of-text id, in the split where the file ends.
/// Text is streamed in blocks and encoded in chunks on all cores, cut only where the result is unchanged.
public static class CorpusPreparer
{
    public static PrepareResult Prepare(PrepareOptions options, TextTokenizer tokenizer, Action<PrepareProgress>? progress = null)
    {
        if (tokenizer.VocabSize > TokenFileWriter.MaxVocabSize)
            throw new MiniGlmException($"tokenizer {tokenizer.Spec.Type}:{tokenizer.Spec.Name} has {tokenizer.VocabSize} ids, but .bin files store uint16 ids (at most {TokenFileWriter.MaxVocabSize})");
        if (!(options.ValFraction >= 0 && options.ValFraction < 1))
            throw new MiniGlmException($"--val_fraction must be in [0, 1), got {options.ValFraction}");
        if (options.Threads < 1) throw new MiniGlmException($"threads must be >= 1, got {options.Threads}");
        if (options.Inputs.Count == 0) throw new MiniGlmException("prepare needs at least one --input file, directory or glob");
        if (File.Exists(options.OutDir)) throw new MiniGlmException($"{options.OutDir}: is a file; --out must be a directory");

        var clock = Stopwatch.StartNew();
        var files = CorpusSources.Expand(options.Inputs);
        long totalBytes = files.Sum(f => new FileInfo(f).Length);
        var warnings = new List<string>();

        var sources = Scan(files, options, totalBytes, clock, progress);
        long totalChars = sources.Sum(s => s.Chars);
        if (totalChars == 0)
            throw new MiniGlmException($"{string.Join(' ', options.Inputs)}: no text to prepare ({files.Count} file(s), all empty)");
        // nanoGPT: train_data = data[:int(n*0.9)].
        long trainChars = (long)(totalChars * (1 - options.ValFraction));
        long valChars = totalChars - trainChars;
        if (valChars == 0) Warn(options.ValFraction == 0
            ? "val_fraction is 0: val.bin is empty, so training will have no validation loss"
            : $"val.bin is empty: {totalChars} characters are too few for val_fraction {options.ValFraction}");
        if (trainChars == 0) Warn($"train.bin gets no text: {totalChars} characters are too few for val_fraction {options.ValFraction}");

        var dir = options.OutDir;
        Directory.CreateDirectory(dir);
        string trainPath = DatasetMeta.TrainPath(dir), valPath = DatasetMeta.ValPath(dir), metaPath = Path.Combine(dir, DatasetMeta.FileName);
        string trainTmp = AtomicFile.TempPath(trainPath), valTmp = AtomicFile.TempPath(valPath);
        try
        {
            long trainTokens, valTokens;
            using (var train = TokenFileWriter.Create(trainTmp, trainPath))
            using (var val = TokenFileWriter.Create(valTmp, valPath))
            {
                Encode(files, sources, trainChars, options, tokenizer, train, val, totalBytes, clock, progress);
                train.Flush(); val.Flush();
                trainTokens = train.Count; valTokens = val.Count;
            }
            var meta = new DatasetMeta
            {
                Tokenizer = tokenizer.Spec, VocabSize = tokenizer.VocabSize, EotToken = tokenizer.EotId,
                TrainTokens = trainTokens, ValTokens = valTokens, TrainChars = trainChars, ValChars = valChars,
                ValFraction = options.ValFraction, Sources = sources,
                Created = WholeSeconds(DateTimeOffset.UtcNow),
            };
            // Until the new meta.json is in place, no meta.json at all: a crash between the renames must not leave
            // an old meta.json vouching for a mix of old and new .bin files.
            File.Delete(metaPath);
            File.Move(trainTmp, trainPath, overwrite: true);
            File.Move(valTmp, valPath, overwrite: true);
            meta = meta with { Tokenizer = tokenizer.Spec.SaveTo(dir) };
            meta.Save(dir);
            return new PrepareResult(meta, totalBytes, clock.Elapsed.TotalSeconds, warnings);
        }
        finally
        {
            File.Delete(trainTmp);
            File.Delete(valTmp);
        }

        void Warn(string message)
        {
            warnings.Add(message);
            progress?.Invoke(new PrepareProgress(PreparePhase.Scan, totalBytes, totalBytes, clock.Elapsed.TotalSeconds, message));
        }
    }

    // Pass 1: validate and count every file, and hash its bytes.
    private static List<DatasetSource> Scan(List<string> files, PrepareOptions options, long totalBytes, Stopwatch clock, Action<PrepareProgress>? progress)
    {
        var sources = new List<DatasetSource>(files.Count);
        var phaseStart = clock.Elapsed.TotalSeconds;
        long done = 0;
        foreach (var file in files)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var reader = new Utf8TextReader(file, options.ReplaceInvalid, hash, options.BlockBytes);
            long chars = 0;
            for (var text = reader.Read(); !text.IsEmpty; text = reader.Read())
            {
                chars += Utf8TextReader.CountChars(text);
                progress?.Invoke(new PrepareProgress(PreparePhase.Scan, done + reader.BytesRead, totalBytes, clock.Elapsed.TotalSeconds - phaseStart));
            }
            done += reader.BytesRead;
            sources.Add(new DatasetSource
            {
                Path = DisplayPath(file), Bytes = reader.BytesRead, Chars = chars,
                Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()),
            });
        }
        return sources;
    }

    // Pass 2: cut the text into chunks at safe points and at forced cuts (file ends, the split). Each chunk is
    // encoded on a worker while this thread reads on; ids are written in chunk order. At most a few chunks per
    // worker are in flight, which bounds memory and keeps every core busy until the last chunk.
    private static void Encode(List<string> files, List<DatasetSource> sources, long trainChars, PrepareOptions options,
        TextTokenizer tokenizer, TokenFileWriter train, TokenFileWriter val, long totalBytes, Stopwatch clock,
        Action<PrepareProgress>? progress)
    {
        var phaseStart = clock.Elapsed.TotalSeconds;
        var workers = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, options.Threads).ConcurrentScheduler;
        var inFlight = new Queue<(TextChunk Chunk, Task<IReadOnlyList<int>> Ids)>();
        int maxInFlight = 4 * options.Threads;
        long bytesRead = 0;
        // GPT-2's pattern allows cuts at any class change; ours (PreTokenPattern) only after a line end.
        var chunker = new TextChunker(options.ChunkChars, tokenizer.Spec.IsFile ? TextChunker.IsNewlineCut : TextChunker.IsSafeCut, chunk =>
        {
            var ids = Task.Factory.StartNew(() => tokenizer.Encode(chunk.Text), CancellationToken.None, TaskCreationOptions.None, workers);
            inFlight.Enqueue((chunk, ids));
            while (inFlight.Count > maxInFlight) WriteOldest();
        });
        long pos = 0, done = 0;
        bool inVal = false;
        for (int f = 0; f < files.Count; f++)
        {
            using var reader = new Utf8TextReader(files[f], options.ReplaceInvalid, hash: null, options.BlockBytes);
            long fileChars = 0;
            for (var text = reader.Read(); !text.IsEmpty; text = reader.Read())
            {
                bytesRead = done + reader.BytesRead;
                long n = Utf8TextReader.CountChars(text);
                if (!inVal && pos + n > trainChars)
                {
                    int i = IndexOfChar(text, trainChars - pos);
                    chunker.Append(text[..i], isVal: false);
                    chunker.Flush(isVal: false, eotAfter: false);
                    inVal = true;
                    chunker.Append(text[i..], isVal: true);
                }
                else chunker.Append(text, inVal);
                pos += n; fileChars += n;
            }
            if (fileChars != sources[f].Chars || reader.BytesRead != sources[f].Bytes)
                throw new MiniGlmException($"{files[f]}: changed while preparing ({sources[f].Bytes} bytes in pass 1, {reader.BytesRead} in pass 2); re-run prepare");
            // An empty file is no document: it gets no end-of-text id.
            chunker.Flush(inVal, eotAfter: fileChars > 0);
            done += reader.BytesRead;
        }
        bytesRead = done;
        while (inFlight.Count > 0) WriteOldest();

        void WriteOldest()
        {
            var (chunk, task) = inFlight.Dequeue();
            var to = chunk.IsVal ? val : train;
            to.Append(task.GetAwaiter().GetResult());
            if (chunk.EotAfter) to.Append(tokenizer.EotId);
            progress?.Invoke(new PrepareProgress(PreparePhase.Encode, bytesRead, totalBytes, clock.Elapsed.TotalSeconds - phaseStart));
        }
    }

    // The UTF-16 index where the k-th character (code point) of s starts.
    private static int IndexOfChar(ReadOnlySpan<char> s, long k)
    {
        long seen = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsLowSurrogate(s[i])) continue;
            if (seen++ == k) return i;
        }
        return s.Length;
    }

    private static DateTimeOffset WholeSeconds(DateTimeOffset t) => t.AddTicks(-(t.Ticks % TimeSpan.TicksPerSecond));

    private static string DisplayPath(string fullPath)
    {
        var rel = Path.GetRelativePath(Environment.CurrentDirectory, fullPath);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? fullPath : rel;
    }
}
