using MLPipelines.Torch;

namespace MLPipelines.Tests.Torch;

/// <summary>
/// A fact that is skipped, with the reason, when TorchSharp's native library cannot be loaded. The probe runs once
/// per test process and never patches at run time, so these tests exercise the build-time fix. It is a
/// <see cref="SkippableFactAttribute"/>, so a torch test may also skip itself at run time (<c>Skip.If</c>), e.g. when it
/// needs a real dataset that is absent.
/// </summary>
public sealed class TorchFactAttribute : SkippableFactAttribute
{
    private static readonly Lazy<string?> SkipReason = new(Probe, LazyThreadSafetyMode.ExecutionAndPublication);

    public TorchFactAttribute()
    {
        if (SkipReason.Value is { } reason)
            Skip = reason;
    }

    private static string? Probe()
    {
        try
        {
            return TorchRuntime.TryEnsureLoaded(out string? reason, log: null, allowRuntimePatch: false)
                ? null
                : "TorchSharp's native library cannot be loaded: " + reason;
        }
        catch (Exception e)
        {
            return $"TorchSharp's native library cannot be loaded: {e.GetType().Name}: {e.Message}";
        }
    }
}
