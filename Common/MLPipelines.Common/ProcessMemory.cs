using System.Diagnostics;

namespace MLPipelines;

/// <summary>Memory figures of the current process, for run reports.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Peak resident set size of this process so far, in MiB (on Linux the kernel's VmHWM, through
    /// <see cref="Process.PeakWorkingSet64"/>).
    /// </summary>
    public static double PeakResidentMegabytes()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return Math.Round(process.PeakWorkingSet64 / (1024.0 * 1024.0), 1);
    }
}
