namespace MLPipelines.Torch;

/// <summary>Thrown when TorchSharp's native backend cannot be loaded; the message explains why and how to fix it.</summary>
public sealed class TorchRuntimeException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and how to fix it.</param>
    public TorchRuntimeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What failed and how to fix it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public TorchRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
