using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MLPipelines.IO;

/// <summary>
/// An exclusive, process-wide lock on a folder path: the lock file <c>.NAME.lock</c> beside the folder holds the
/// holder's process id and stays open with <see cref="FileShare.None"/> (an OS file lock, which the kernel drops
/// when the process exits or is killed, so a crash never leaves a stale lock). A second process fails at once with
/// an <see cref="IOException"/> naming the folder and the holder's process id. Within one process the lock is
/// re-entrant (counted), so an experiment can lock its output folder and its run-folder writer can lock it again.
/// </summary>
public sealed class FolderLock : IDisposable
{
    private static readonly Dictionary<string, (FileStream Stream, int Count)> Held = new(StringComparer.Ordinal);
    private readonly string _key;
    private bool _disposed;

    private FolderLock(string key, string folder)
    {
        _key = key;
        Folder = folder;
    }

    /// <summary>Gets the locked folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The lock file of <paramref name="folder"/>: <c>PARENT/.NAME.lock</c> (beside the folder, so it survives the folder being swapped).</summary>
    /// <param name="folder">A folder path.</param>
    public static string LockPathOf(string folder)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"Folder '{folder}' has no parent folder to hold its lock file.", nameof(folder));
        return Path.Combine(parent, "." + Path.GetFileName(full) + ".lock");
    }

    /// <summary>Takes the lock on <paramref name="folder"/> or throws at once.</summary>
    /// <param name="folder">The folder (it need not exist; its parent is created).</param>
    /// <exception cref="IOException">Another process holds the lock (the message names the folder and its process id), or the lock file cannot be created.</exception>
    public static FolderLock Acquire(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        var lockPath = LockPathOf(full);
        lock (Held)
        {
            if (Held.TryGetValue(lockPath, out var held))
            {
                Held[lockPath] = (held.Stream, held.Count + 1);
                return new FolderLock(lockPath, full);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            FileStream stream;
            try
            {
                stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(lockPath))
            {
                var pid = ReadHolder(lockPath);
                throw new IOException(
                    $"Output folder '{folder}' is in use by another run (process {pid ?? "unknown"}, lock file '{lockPath}'); " +
                    "wait for it to finish or choose another --out.", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"Cannot create the lock file '{lockPath}' for output folder '{folder}': {e.Message}", e);
            }
            var bytes = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            stream.SetLength(0);
            stream.Write(bytes);
            stream.Flush();
            Held[lockPath] = (stream, 1);
            return new FolderLock(lockPath, full);
        }
    }

    /// <summary>Whether this process holds the lock on <paramref name="folder"/>.</summary>
    /// <param name="folder">A folder path.</param>
    public static bool IsHeld(string folder)
    {
        lock (Held)
            return Held.ContainsKey(LockPathOf(folder));
    }

    /// <summary>Releases this hold; the lock file is closed (not deleted: deleting it would let two processes lock two different files) when the last hold goes.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        lock (Held)
        {
            if (!Held.TryGetValue(_key, out var held))
                return;
            if (held.Count > 1)
            {
                Held[_key] = (held.Stream, held.Count - 1);
                return;
            }
            Held.Remove(_key);
            held.Stream.Dispose();
        }
    }

    /// <summary>
    /// The holder's process id from a lock file that another process keeps locked. .NET's own readers take a shared
    /// lock and fail on it, so on Unix the bytes are read with plain open/read (the lock is advisory).
    /// </summary>
    private static string? ReadHolder(string lockPath)
    {
        try
        {
            if (OperatingSystem.IsWindows())
                return null;
            var fd = open(lockPath, 0);
            if (fd < 0)
                return null;
            try
            {
                var buffer = new byte[32];
                var n = read(fd, buffer, buffer.Length);
                if (n <= 0)
                    return null;
                var text = Encoding.ASCII.GetString(buffer, 0, (int)n).Trim();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid.ToString(CultureInfo.InvariantCulture) : null;
            }
            finally
            {
                _ = close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc")]
    private static extern int close(int fd);
}
