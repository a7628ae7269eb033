using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace MiniGlm.Interop.Pickle;

/// A Python pickle reader that runs nothing. Python's unpickler imports and calls whatever a pickle names (GLOBAL +
/// REDUCE is how `os.system` gets called on load); this one knows only the data opcodes, and a global is allowed
/// only if the caller lists it, mapped to a C# function over the plain arguments. Any other global is refused with
/// one line naming it, before anything after it is read.
///
/// Values: null, bool, long (BigInteger beyond 64 bits), double, string, byte[], List&lt;object?&gt; (list),
/// object?[] (tuple), Dictionary&lt;object, object?&gt; (dict, insertion order kept), and what the allowed functions return.
public sealed class PickleReader
{
    /// A function a pickle may call: a global it names, with the arguments of REDUCE (or NEWOBJ).
    public delegate object? Callable(object?[] args);

    /// A named global the pickle pushed but has not called yet (a class used as a marker, e.g. torch.FloatStorage).
    public sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark;
    private static readonly Mark MarkObject = new();

    private readonly string source;
    private readonly IReadOnlyDictionary<string, Callable?> globals;
    private readonly Func<object?, object?>? persistentLoad;

    /// <param name="source">File name for error messages.</param>
    /// <param name="globals">Allowed "module.name" globals: a function to call on REDUCE, or null for a marker that
    /// may be pushed but not called.</param>
    /// <param name="persistentLoad">Resolves persistent ids (torch's storages); null refuses them.</param>
    public PickleReader(string source, IReadOnlyDictionary<string, Callable?> globals, Func<object?, object?>? persistentLoad = null)
    {
        this.source = source; this.globals = globals; this.persistentLoad = persistentLoad;
    }

    public object? Read(ReadOnlySpan<byte> data)
    {
        var stack = new List<object?>();
        var memo = new Dictionary<long, object?>();
        int pos = 0;
        while (true)
        {
            if (pos >= data.Length) throw Error("ends before its STOP opcode (truncated?)");
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: pos++; break;                                            // PROTO n
                case 0x95: pos += 8; break;                                         // FRAME n
                case (byte)'.': return Pop(stack);                                  // STOP
                case (byte)'(': stack.Add(MarkObject); break;                       // MARK
                case (byte)'0': Pop(stack); break;                                  // POP
                case (byte)'1': PopMark(stack); break;                              // POP_MARK
                case (byte)'2': stack.Add(Peek(stack)); break;                      // DUP
                case (byte)'N': stack.Add(null); break;                             // NONE
                case 0x88: stack.Add(true); break;                                  // NEWTRUE
                case 0x89: stack.Add(false); break;                                 // NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4))); break;
                case (byte)'K': stack.Add((long)Take(data, ref pos, 1)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(data, ref pos, 2))); break;
                case 0x8a: stack.Add(Long(Take(data, ref pos, Take(data, ref pos, 1)[0]))); break;             // LONG1
                case 0x8b: stack.Add(Long(Take(data, ref pos, Length(Take(data, ref pos, 4))))); break;         // LONG4
                case (byte)'I': stack.Add(IntLine(Line(data, ref pos))); break;                                  // INT
                case (byte)'L': stack.Add(Integer(Line(data, ref pos).TrimEnd('L'))); break;                    // LONG
                case (byte)'F': stack.Add(Float(Line(data, ref pos))); break;                                    // FLOAT
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(data, ref pos, 8))); break; // BINFLOAT
                case (byte)'X': stack.Add(Utf8(Take(data, ref pos, Length(Take(data, ref pos, 4))))); break;    // BINUNICODE
                case 0x8c: stack.Add(Utf8(Take(data, ref pos, Take(data, ref pos, 1)[0]))); break;              // SHORT_BINUNICODE
                case 0x8d: stack.Add(Utf8(Take(data, ref pos, Length(Take(data, ref pos, 8))))); break;         // BINUNICODE8
                case (byte)'V': stack.Add(Line(data, ref pos)); break;                                           // UNICODE (raw-unicode-escape; ASCII in practice)
                case (byte)'T': stack.Add(Latin1(Take(data, ref pos, Length(Take(data, ref pos, 4))))); break;  // BINSTRING (py2 str)
                case (byte)'U': stack.Add(Latin1(Take(data, ref pos, Take(data, ref pos, 1)[0]))); break;       // SHORT_BINSTRING
                case (byte)'B': stack.Add(Take(data, ref pos, Length(Take(data, ref pos, 4))).ToArray()); break; // BINBYTES
                case (byte)'C': stack.Add(Take(data, ref pos, Take(data, ref pos, 1)[0]).ToArray()); break;     // SHORT_BINBYTES
                case 0x8e: stack.Add(Take(data, ref pos, Length(Take(data, ref pos, 8))).ToArray()); break;     // BINBYTES8
                case 0x96: stack.Add(Take(data, ref pos, Length(Take(data, ref pos, 8))).ToArray()); break;     // BYTEARRAY8
                case (byte)']': stack.Add(new List<object?>()); break;                                           // EMPTY_LIST
                case (byte)')': stack.Add(Array.Empty<object?>()); break;                                        // EMPTY_TUPLE
                case (byte)'}': stack.Add(new Dictionary<object, object?>()); break;                             // EMPTY_DICT
                case 0x8f: stack.Add(new List<object?>()); break;                                                // EMPTY_SET (as a list)
                case (byte)'l': stack.Add(PopMark(stack)); break;                                                // LIST
                case (byte)'t': stack.Add(PopMark(stack).ToArray()); break;                                      // TUPLE
                case 0x85: stack.Add(PopN(stack, 1)); break;                                                     // TUPLE1
                case 0x86: stack.Add(PopN(stack, 2)); break;                                                     // TUPLE2
                case 0x87: stack.Add(PopN(stack, 3)); break;                                                     // TUPLE3
                case (byte)'d': stack.Add(Dict(new Dictionary<object, object?>(), PopMark(stack))); break;      // DICT
                case (byte)'a': { var v = Pop(stack); As<List<object?>>(Peek(stack), "APPEND").Add(v); break; }
                case (byte)'e': { var items = PopMark(stack); As<List<object?>>(Peek(stack), "APPENDS").AddRange(items); break; }
                case 0x90: { var items = PopMark(stack); As<List<object?>>(Peek(stack), "ADDITEMS").AddRange(items); break; }
                case (byte)'s': { var v = Pop(stack); var k = Pop(stack); Dict(As<Dictionary<object, object?>>(Peek(stack), "SETITEM"), [k, v]); break; }
                case (byte)'u': { var items = PopMark(stack); Dict(As<Dictionary<object, object?>>(Peek(stack), "SETITEMS"), items); break; }
                case 0x91: stack.Add(PopMark(stack).ToArray()); break;                                           // FROZENSET (as a tuple)
                case (byte)'p': memo[MemoKey(Line(data, ref pos))] = Peek(stack); break;                         // PUT
                case (byte)'q': memo[Take(data, ref pos, 1)[0]] = Peek(stack); break;                            // BINPUT
                case (byte)'r': memo[Length(Take(data, ref pos, 4))] = Peek(stack); break;                       // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(stack); break;                                                // MEMOIZE
                case (byte)'g': stack.Add(Memo(memo, MemoKey(Line(data, ref pos)))); break;                      // GET
                case (byte)'h': stack.Add(Memo(memo, Take(data, ref pos, 1)[0])); break;                         // BINGET
                case (byte)'j': stack.Add(Memo(memo, Length(Take(data, ref pos, 4)))); break;                    // LONG_BINGET
                case (byte)'c':                                                                                  // GLOBAL
                {
                    var module = Line(data, ref pos);
                    stack.Add(Resolve(module, Line(data, ref pos)));
                    break;
                }
                case 0x93:                                                                                       // STACK_GLOBAL
                {
                    var name = Pop(stack); var module = Pop(stack);
                    stack.Add(Resolve(As<string>(module, "STACK_GLOBAL"), As<string>(name, "STACK_GLOBAL")));
                    break;
                }
                case (byte)'R':                                                                                  // REDUCE
                {
                    var args = As<object?[]>(Pop(stack), "REDUCE");
                    stack.Add(Call(Pop(stack), args));
                    break;
                }
                case 0x81:                                                                                       // NEWOBJ
                {
                    var args = As<object?[]>(Pop(stack), "NEWOBJ");
                    stack.Add(Call(Pop(stack), args));
                    break;
                }
                case (byte)'b':                                                                                  // BUILD
                    // State set on an object we built (an OrderedDict's `_metadata` attribute in a state dict):
                    // only the plain object is kept, so the state is read and dropped.
                    Pop(stack);
                    break;
                case (byte)'Q':                                                                                  // BINPERSID
                {
                    var id = Pop(stack);
                    if (persistentLoad is null) throw Error("has a persistent id, which this file may not have");
                    stack.Add(persistentLoad(id));
                    break;
                }
                case (byte)'P': throw Error("uses a text persistent id (PERSID), which is not read");
                case (byte)'i': case (byte)'o': case 0x92: case 0x82: case 0x83: case 0x84:
                    // INST, OBJ, NEWOBJ_EX, EXT1/2/4: build objects by class or registry, never needed for weights.
                    throw Error($"uses opcode 0x{op:x2} to build an object, which is refused (only tensors, storages and plain containers are read)");
                default: throw Error($"unknown or unsupported opcode 0x{op:x2} at byte {pos - 1}");
            }
        }
    }

    private object Resolve(string module, string name)
    {
        var key = $"{module}.{name}";
        if (!globals.ContainsKey(key))
            throw Error($"asks for '{key}', which is refused: only tensors, storages and plain containers are read, and nothing in a pickle is run");
        return new Global(module, name);
    }

    private object? Call(object? callee, object?[] args)
    {
        if (callee is not Global g) throw Error($"calls a {Describe(callee)}, which is not a function");
        var fn = globals[g.ToString()] ?? throw Error($"calls '{g}', which is allowed only as a type marker, not as a function");
        return fn(args);
    }

    private MiniGlmException Error(string what) => new($"{source}: pickle {what}");

    private T As<T>(object? value, string op) =>
        value is T t ? t : throw Error($"{op} expects a {typeof(T).Name}, found a {Describe(value)} (malformed pickle)");

    private static string Describe(object? v) => v?.GetType().Name ?? "None";

    private object? Pop(List<object?> stack)
    {
        if (stack.Count == 0) throw Error("pops an empty stack (malformed)");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        if (v is Mark) throw Error("pops a MARK as a value (malformed)");
        return v;
    }

    private object? Peek(List<object?> stack) => stack.Count > 0 && stack[^1] is not Mark ? stack[^1] : throw Error("reads an empty stack (malformed)");

    private List<object?> PopMark(List<object?> stack)
    {
        int mark = stack.FindLastIndex(v => v is Mark);
        if (mark < 0) throw Error("has no MARK where one is needed (malformed)");
        var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    private object?[] PopN(List<object?> stack, int n)
    {
        var items = new object?[n];
        for (int i = n - 1; i >= 0; i--) items[i] = Pop(stack);
        return items;
    }

    private Dictionary<object, object?> Dict(Dictionary<object, object?> dict, IReadOnlyList<object?> items)
    {
        if (items.Count % 2 != 0) throw Error("has a dict with an odd number of keys and values (malformed)");
        for (int i = 0; i < items.Count; i += 2)
            dict[items[i] ?? throw Error("has a dict key None, which is not read")] = items[i + 1];
        return dict;
    }

    private object? Memo(Dictionary<long, object?> memo, long key) =>
        memo.TryGetValue(key, out var v) ? v : throw Error($"refers to memo entry {key}, which was never stored (malformed)");

    private ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, ref int pos, long n)
    {
        if (n < 0 || n > data.Length - pos) throw Error("ends in the middle of a value (truncated?)");
        var span = data.Slice(pos, (int)n);
        pos += (int)n;
        return span;
    }

    /// A 4- or 8-byte length; one beyond what any pickle here can hold is reported by Take as running past the end.
    private static long Length(ReadOnlySpan<byte> raw) =>
        raw.Length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(raw) : (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(raw), long.MaxValue);

    private string Line(ReadOnlySpan<byte> data, ref int pos)
    {
        int end = data[pos..].IndexOf((byte)'\n');
        if (end < 0) throw Error("ends in the middle of a text value (truncated?)");
        var s = Encoding.UTF8.GetString(data.Slice(pos, end));
        pos += end + 1;
        return s;
    }

    private object IntLine(string s) => s switch { "00" => false, "01" => true, _ => Integer(s) };

    /// Digits of a text integer (INT, LONG): far more than any value in a checkpoint needs, and parsing is
    /// superlinear in the digits, so a longer line is refused rather than parsed.
    private const int MaxDigits = 100;

    private object Integer(string s)
    {
        if (s.Length > MaxDigits) throw Error($"has an integer of {s.Length} characters (more than {MaxDigits} are not read)");
        if (!BigInteger.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var big))
            throw Error($"has an integer line '{Shown(s)}' that is not a number (malformed)");
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : (object)big;
    }

    private long MemoKey(string s) =>
        long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var key) ? key
            : throw Error($"has a memo key '{Shown(s)}' that is not a number (malformed)");

    /// A text float as Python's repr writes it (inf and nan included).
    private double Float(string s) => s switch
    {
        "inf" => double.PositiveInfinity, "-inf" => double.NegativeInfinity, "nan" => double.NaN,
        _ when s.Length <= MaxDigits && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        _ => throw Error($"has a float line '{Shown(s)}' that is not a number (malformed)"),
    };

    private static string Shown(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static object Long(ReadOnlySpan<byte> twosComplement)
    {
        var big = new BigInteger(twosComplement, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : (object)big;
    }

    private static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
    private static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);
}
