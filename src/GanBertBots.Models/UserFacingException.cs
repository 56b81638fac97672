namespace GanBertBots.Models;

/// <summary>
/// An error whose message is meant for the person running the program: it says what is wrong
/// and, where it can, what to do. The CLI prints the message alone, without a stack trace.
/// </summary>
public class UserFacingException : Exception
{
    public UserFacingException(string message) : base(message) { }
    public UserFacingException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A checkpoint (config, weights, tokenizer files) is missing, truncated or does not match the model.</summary>
public sealed class CheckpointException : UserFacingException
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}
