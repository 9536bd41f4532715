using TorchSharp;

namespace MLPipelines.Torch;

/// <summary>Chooses the torch device from a user setting ("auto", "cpu", "cuda" or "cuda:N").</summary>
public static class TorchDevice
{
    /// <summary>
    /// Resolves <paramref name="request"/> to a device. "auto" picks CUDA when available, else CPU; "cuda" (or
    /// "cuda:N") falls back to CPU with a message on <paramref name="log"/> when CUDA is not available.
    /// Loads the native backend first (<see cref="TorchRuntime.EnsureLoaded"/>).
    /// </summary>
    /// <param name="request">"auto" (also null or empty), "cpu", "cuda" or "cuda:N"; case-insensitive.</param>
    /// <param name="log">Receives the fallback message; may be null.</param>
    /// <returns>The device to use.</returns>
    /// <exception cref="ArgumentException">The request is not one of the accepted forms.</exception>
    /// <exception cref="TorchRuntimeException">TorchSharp's native backend cannot be loaded.</exception>
    public static torch.Device Resolve(string? request, IProgress<string>? log = null)
    {
        TorchRuntime.EnsureLoaded(log);
        bool available = torch.cuda.is_available();
        int count = available ? torch.cuda.device_count() : 0;
        return Resolve(request, available, count, log);
    }

    /// <summary>Why CUDA cannot be used here, in words for users.</summary>
    public static string CudaUnavailableReason => TorchRuntime.IsCudaBuild
        ? "CUDA is not available on this machine (libtorch found no usable NVIDIA GPU or driver)"
        : "CUDA is not available in this build: it references TorchSharp-cpu, the CPU-only libtorch " +
          "(build with -p:TorchSharpCuda=true to use TorchSharp-cuda-linux on a machine with an NVIDIA GPU)";

    /// <summary>Testable core of <see cref="Resolve(string?, IProgress{string}?)"/> with the CUDA facts given.</summary>
    internal static torch.Device Resolve(string? request, bool cudaAvailable, int cudaDeviceCount, IProgress<string>? log)
    {
        string r = (request ?? string.Empty).Trim().ToLowerInvariant();
        if (r.Length == 0 || r == "auto")
        {
            if (cudaAvailable)
                return new torch.Device(DeviceType.CUDA, 0);
            log?.Report($"Device 'auto': {CudaUnavailableReason}; using CPU.");
            return torch.CPU;
        }
        if (r == "cpu")
            return torch.CPU;
        if (r == "cuda" || r.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (r.Length > 4 && (!int.TryParse(r.AsSpan(5), out index) || index < 0))
                throw new ArgumentException($"Unknown device '{request}': expected auto, cpu, cuda or cuda:N.", nameof(request));
            if (!cudaAvailable)
            {
                log?.Report($"Device '{request}' requested, but {CudaUnavailableReason}; using CPU.");
                return torch.CPU;
            }
            if (index >= cudaDeviceCount)
                throw new ArgumentException($"Device '{request}': only {cudaDeviceCount} CUDA device(s) present.", nameof(request));
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{request}': expected auto, cpu, cuda or cuda:N.", nameof(request));
    }
}
