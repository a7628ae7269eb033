namespace MiniGlm;

/// An error the user can fix: its message is one line that names the file, line or key and what was expected.
/// Front ends print the message alone, without a stack trace.
public sealed class MiniGlmException(string message, Exception? inner = null) : Exception(message, inner);
