using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MLPipelines.Torch.Native;
using TorchSharp;

namespace MLPipelines.Torch;

/// <summary>
/// Loads TorchSharp's native backend safely. The primary fix for Linux systems whose libstdc++ lacks GLIBCXX_3.4.32
/// (Debian 12) is applied at build time by build/TorchSharpNativeFix.targets; <see cref="EnsureLoaded"/> is the
/// run-time fallback: it checks the app's copy of libLibTorchSharp.so BEFORE TorchSharp is touched (a failed
/// TorchSharp load is permanent for the process and makes TorchSharp copy about 480 MB of libtorch into the app
/// folder), patches that copy when allowed, and otherwise fails with an explanation.
/// </summary>
public static class TorchRuntime
{
    private const string NativeFileName = "libLibTorchSharp.so";
    private static readonly object Gate = new();
    private static bool loaded;
    private static string? permanentFailure;

    /// <summary>True when this library was built against TorchSharp-cuda-linux (-p:TorchSharpCuda=true).</summary>
    public static bool IsCudaBuild =>
#if TORCHSHARP_CUDA
        true;
#else
        false;
#endif

    /// <summary>Whether TorchSharp's native backend has been loaded in this process.</summary>
    public static bool IsLoaded
    {
        get
        {
            lock (Gate)
            {
                return loaded;
            }
        }
    }

    /// <summary>
    /// The app's copy of libLibTorchSharp.so (next to TorchSharp.dll or under runtimes/linux-x64/native), or null when
    /// none is found (not Linux, or a layout this class does not know).
    /// </summary>
    public static string? NativeLibraryPath => FindNativeLibrary();

    /// <summary>Loads TorchSharp's native CPU backend, or throws <see cref="TorchRuntimeException"/> explaining why not.</summary>
    /// <param name="log">Receives what was checked or patched; may be null.</param>
    /// <param name="allowRuntimePatch">
    /// When the build-time fix was not applied, patch the app's own copy of libLibTorchSharp.so (never one in a NuGet
    /// cache) before loading it.
    /// </param>
    /// <exception cref="TorchRuntimeException">The native backend cannot be loaded.</exception>
    public static void EnsureLoaded(IProgress<string>? log = null, bool allowRuntimePatch = true)
    {
        if (!TryEnsureLoaded(out string? reason, log, allowRuntimePatch))
            throw new TorchRuntimeException(reason);
    }

    /// <summary>Loads TorchSharp's native CPU backend if possible.</summary>
    /// <param name="failureReason">Why loading failed, with the fix; null on success.</param>
    /// <param name="log">Receives what was checked or patched; may be null.</param>
    /// <param name="allowRuntimePatch">See <see cref="EnsureLoaded"/>.</param>
    /// <returns>True when the backend is loaded.</returns>
    public static bool TryEnsureLoaded([NotNullWhen(false)] out string? failureReason, IProgress<string>? log = null, bool allowRuntimePatch = true)
    {
        lock (Gate)
        {
            failureReason = null;
            if (loaded)
                return true;
            if (permanentFailure is not null)
            {
                failureReason = permanentFailure;
                return false;
            }

            // Checked before TorchSharp is touched: its failed type initializer cannot be retried.
            string? preflight = PreflightGlibcxx(log, allowRuntimePatch);
            if (preflight is not null)
            {
                failureReason = preflight;
                return false;
            }

            try
            {
                if (InitializeCpu())
                {
                    loaded = true;
                    return true;
                }
                permanentFailure = "TorchSharp could not initialise its CPU backend (torch.TryInitializeDeviceType returned false).";
            }
            catch (Exception e)
            {
                Exception root = e is TypeInitializationException { InnerException: { } inner } ? inner : e;
                permanentFailure = "TorchSharp's native backend failed to load: " + FirstLine(root.Message) +
                    (OperatingSystem.IsLinux() ? " " + DlopenDiagnosis() : string.Empty);
            }
            failureReason = permanentFailure;
            return false;
        }
    }

    /// <summary>
    /// Explains the GLIBCXX_3.4.32 failure and its fix (used in exception messages and by <see cref="EnsureLoaded"/>).
    /// </summary>
    /// <param name="nativePath">The libLibTorchSharp.so concerned.</param>
    /// <param name="libStdCxx">The system libstdc++.so.6, when found.</param>
    /// <returns>The explanation.</returns>
    public static string ExplainGlibcxxFix(string nativePath, string? libStdCxx) =>
        $"TorchSharp's native library {nativePath} requires symbol version {ElfVersionNeedPatcher.DefaultVersionName} from libstdc++.so.6, " +
        $"which this system's {libStdCxx ?? "libstdc++.so.6"} does not provide (Debian 12 ships up to GLIBCXX_3.4.30), so it cannot be loaded. " +
        "Fix: build the app with MLPipelines' TorchSharp native fix, which marks that requirement weak (VER_FLG_WEAK) in the " +
        "build/publish-output copy: inside the MLPipelines repository it is automatic (Directory.Build.targets imports " +
        "build/TorchSharpNativeFix.targets); an app consuming the MLPipelines.Torch package gets it through buildTransitive. " +
        "Rebuild with `dotnet build` (not -p:TorchSharpNativeFix=never; use -p:TorchSharpNativeFix=always when building on a " +
        "newer system for this one), or call TorchRuntime.EnsureLoaded(allowRuntimePatch: true) with a writable app folder. " +
        "See docs/torchsharp.md.";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool InitializeCpu() => torch.TryInitializeDeviceType(DeviceType.CPU);

    private static string? PreflightGlibcxx(IProgress<string>? log, bool allowRuntimePatch)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return null;
        string? native = FindNativeLibrary();
        if (native is null)
            return null; // unknown layout: let TorchSharp try and report
        ElfVersionNeedInfo info;
        try
        {
            info = ElfVersionNeedPatcher.Inspect(File.ReadAllBytes(native), what: native);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            log?.Report($"TorchRuntime: could not inspect {native}: {e.Message}");
            return null;
        }
        if (!info.Found || info.IsWeak)
            return null;
        string? libStdCxx = SystemLibStdCxx.Find();
        if (libStdCxx is not null && SystemLibStdCxx.ProvidesVersion(libStdCxx))
            return null;

        string explanation = ExplainGlibcxxFix(native, libStdCxx);
        if (!allowRuntimePatch)
            return explanation + " (The run-time patch was not allowed.)";
        if (IsInPackageCache(native))
            return explanation + $" (Not patching {native} at run time: it lies in a NuGet package cache.)";
        try
        {
            ElfVersionNeedPatcher.PatchFile(native);
            log?.Report($"TorchRuntime: the build-time TorchSharp native fix was not applied; patched {native} at run time " +
                $"({ElfVersionNeedPatcher.DefaultVersionName} marked weak). Rebuild with the fix to avoid this step.");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException)
        {
            return explanation + $" (The run-time patch of {native} failed: {e.Message})";
        }
    }

    private static string? FindNativeLibrary()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        var folders = new List<string>();
        string torchSharpDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? string.Empty;
        if (torchSharpDir.Length > 0)
            folders.Add(torchSharpDir);
        folders.Add(AppContext.BaseDirectory);
        foreach (string folder in folders)
        {
            foreach (string candidate in new[]
                     {
                         Path.Combine(folder, "runtimes", "linux-x64", "native", NativeFileName),
                         Path.Combine(folder, NativeFileName),
                     })
            {
                if (File.Exists(candidate))
                    return Path.GetFullPath(candidate);
            }
        }
        return null;
    }

    private static bool IsInPackageCache(string path)
    {
        var roots = new List<string>();
        string? env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(env))
            roots.Add(env);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (home.Length > 0)
            roots.Add(Path.Combine(home, ".nuget", "packages"));
        string full = Path.GetFullPath(path);
        return roots.Any(r => full.StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)) + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }

    private static string DlopenDiagnosis()
    {
        string? native = FindNativeLibrary();
        if (native is null)
            return string.Empty;
        try
        {
            IntPtr handle = Dl.Open(native, 2 /* RTLD_NOW */);
            if (handle != IntPtr.Zero)
                return $"(dlopen of {native} succeeds, so the failure lies elsewhere.)";
            string error = Marshal.PtrToStringAnsi(Dl.Error()) ?? "unknown dlopen error";
            if (error.Contains("GLIBCXX_", StringComparison.Ordinal))
                return $"dlopen says: {error}. " + ExplainGlibcxxFix(native, SystemLibStdCxx.Find());
            return $"dlopen says: {error}";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return string.Empty;
        }
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return (newline < 0 ? text : text[..newline]).Trim();
    }

    private static class Dl
    {
        [DllImport("libc.so.6", EntryPoint = "dlopen")]
        public static extern IntPtr Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc.so.6", EntryPoint = "dlerror")]
        public static extern IntPtr Error();
    }
}
