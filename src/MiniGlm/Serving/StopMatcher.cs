namespace MiniGlm.Serving;

/// Cuts a streamed answer at the first stop string (OpenAI's `stop`). Text that might be the start of a stop
/// string is held back until the next piece shows whether it is, so a stop string never reaches the client.
public sealed class StopMatcher(IReadOnlyList<string> stops)
{
    private string pending = "";

    public bool Stopped { get; private set; }

    /// Returns the text that is safe to emit now; sets Stopped when a stop string was found.
    public string Push(string piece)
    {
        if (Stopped) return "";
        pending += piece;
        int cut = stops.Where(s => s.Length > 0).Select(s => pending.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0)
            .DefaultIfEmpty(-1).Min();
        if (cut >= 0)
        {
            Stopped = true;
            var head = pending[..cut];
            pending = "";
            return head;
        }
        int hold = stops.Select(HeldBack).DefaultIfEmpty(0).Max();
        var ready = pending[..(pending.Length - hold)];
        pending = pending[(pending.Length - hold)..];
        return ready;
    }

    /// What is left when the answer ends without a stop string.
    public string Flush()
    {
        var rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }

    /// Length of the longest end of `pending` that is a proper start of `stop`.
    private int HeldBack(string stop)
    {
        for (int n = Math.Min(stop.Length - 1, pending.Length); n > 0; n--)
            if (string.CompareOrdinal(pending, pending.Length - n, stop, 0, n) == 0) return n;
        return 0;
    }
}
