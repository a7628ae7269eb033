using System.Text;

namespace MiniGlm.Interop.Pickle;

/// Writes a pickle (protocol 2, what torch.save writes) of plain values: null, bool, int/long, double, string,
/// lists, tuples (object?[]), dicts (IDictionary with string keys, insertion order kept), and two things for torch:
/// a <see cref="Call"/> (GLOBAL + arguments + REDUCE) and a <see cref="PersistentId"/>.
public sealed class PickleWriter
{
    /// `module.name(*args)` when the pickle is loaded, e.g. torch._utils._rebuild_tensor_v2.
    public sealed record Call(string Module, string Name, object?[] Args);
    /// A bare global (a class as a value), e.g. torch.FloatStorage inside a storage's persistent id.
    public sealed record GlobalRef(string Module, string Name);
    /// A value the loader resolves itself (torch: a storage in the archive).
    public sealed record PersistentId(object?[] Id);

    private readonly MemoryStream buffer = new();

    public static byte[] Write(object? value)
    {
        var w = new PickleWriter();
        w.buffer.Write([0x80, 2]);
        w.Value(value);
        w.buffer.WriteByte((byte)'.');
        return w.buffer.ToArray();
    }

    private void Value(object? v)
    {
        switch (v)
        {
            case null: Op('N'); break;
            case bool b: Op(b ? 0x88 : 0x89); break;
            case int i: Int(i); break;
            case long l: Int(l); break;
            case float f: Float(f); break;
            case double d: Float(d); break;
            case string s:
                var bytes = Encoding.UTF8.GetBytes(s);
                Op('X'); Int32(bytes.Length); buffer.Write(bytes);
                break;
            case Call c:
                Global(c.Module, c.Name);
                Tuple(c.Args);
                Op('R');
                break;
            case GlobalRef g: Global(g.Module, g.Name); break;
            case PersistentId p: Tuple(p.Id); Op('Q'); break;
            case object?[] tuple: Tuple(tuple); break;
            case System.Collections.IDictionary dict:
                Op('}');
                if (dict.Count == 0) break;
                Op('(');
                foreach (System.Collections.DictionaryEntry e in dict) { Value(e.Key); Value(e.Value); }
                Op('u');
                break;
            case System.Collections.IEnumerable list:
                Op(']');
                Op('(');
                foreach (var item in list) Value(item);
                Op('e');
                break;
            default: throw new ArgumentException($"cannot pickle a {v.GetType().Name}");
        }
    }

    private void Tuple(object?[] items)
    {
        Op('(');
        foreach (var item in items) Value(item);
        Op('t');
    }

    private void Global(string module, string name)
    {
        Op('c');
        buffer.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    private void Int(long v)
    {
        if (v is >= 0 and < 256) { Op('K'); buffer.WriteByte((byte)v); }
        else if (v is >= int.MinValue and <= int.MaxValue) { Op('J'); Int32((int)v); }
        else { Op(0x8a); buffer.WriteByte(8); buffer.Write(BitConverter.GetBytes(v)); }
    }

    private void Float(double d)
    {
        Op('G');
        var b = BitConverter.GetBytes(d);
        if (BitConverter.IsLittleEndian) Array.Reverse(b);
        buffer.Write(b);
    }

    private void Int32(int v) => buffer.Write(BitConverter.GetBytes(v));

    private void Op(int op) => buffer.WriteByte((byte)op);
}
