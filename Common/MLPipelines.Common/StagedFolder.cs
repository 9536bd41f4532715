using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLPipelines.IO;

/// <summary>What a reader finds in an output folder (see <see cref="StagedFolder.Inspect"/>).</summary>
public enum FolderState
{
    /// <summary>The folder has a manifest and every file it lists has the listed size.</summary>
    Complete,

    /// <summary>No manifest and no staging marker: written before manifests existed (or by hand).</summary>
    Unverified,

    /// <summary>A staging marker without a manifest, or a listed file missing or of another size: never a finished run.</summary>
    Incomplete,
}

/// <summary>
/// Commits a set of files into a folder all at once. Everything is written into a staging folder beside the target
/// (<c>PARENT/.NAME.staging</c>); <see cref="Commit"/> writes a manifest (names, sizes, SHA-256) last, then swaps the
/// staging folder with the target in one atomic step (Linux <c>renameat2(RENAME_EXCHANGE)</c>; elsewhere, or on a
/// file system without it, two renames that the next writer repairs). Readers therefore see either the complete old
/// set or the complete new set, never a mix, whatever moment a process is killed at. Entries of the old folder that
/// are not its own outputs (the old manifest's files) and that the new set does not replace — sub-runs, caches,
/// files a user put there — are moved into the new folder after the swap.
/// </summary>
/// <remarks>
/// The target is locked (<see cref="FolderLock"/>) for the writer's lifetime. A writer that is disposed without
/// <see cref="Commit"/> (an exception, a full disk) deletes its staging folder and leaves the target untouched; one
/// that is killed leaves a staging folder marked incomplete, which the next writer deletes. Recovery runs under the
/// lock when a writer starts.
/// </remarks>
public sealed class StagedFolder : IDisposable
{
    /// <summary>The manifest's file name, written last; readers treat a folder with it as complete.</summary>
    public const string ManifestFileName = "run-manifest.json";

    /// <summary>Marker file present only in a staging folder that has not been committed.</summary>
    public const string StagingMarker = ".staging-incomplete";

    private const uint RenameExchange = 2;
    private readonly FolderLock _lock;
    private bool _committed;
    private bool _disposed;

    /// <summary>Locks <paramref name="target"/>, repairs what a killed writer left, and creates an empty staging folder.</summary>
    /// <param name="target">The folder the files are committed into (created or replaced by <see cref="Commit"/>).</param>
    /// <exception cref="IOException">The target is a file, is locked by another process (message names it and the pid), or cannot be written.</exception>
    public StagedFolder(string target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        Target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        if (File.Exists(Target))
            throw new IOException($"Output folder '{target}' is an existing file.");
        _lock = FolderLock.Acquire(Target);
        try
        {
            Staging = StagingPathOf(Target);
            Recover(Target);
            Directory.CreateDirectory(Staging);
            File.WriteAllBytes(Path.Combine(Staging, StagingMarker), []);
        }
        catch (Exception e) when (e is UnauthorizedAccessException)
        {
            _lock.Dispose();
            throw new IOException($"Output folder '{target}' cannot be written: {e.Message}", e);
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    /// <summary>Gets the target folder (full path).</summary>
    public string Target { get; }

    /// <summary>Gets the staging folder: write every file of the set here.</summary>
    public string Staging { get; }

    /// <summary>Whether <see cref="Commit"/> has run.</summary>
    public bool IsCommitted => _committed;

    /// <summary>Writes the manifest, swaps the staging folder in, moves foreign entries of the old folder across, and deletes the old set.</summary>
    /// <param name="extra">Extra manifest keys (e.g. the producer); may be null.</param>
    public void Commit(IReadOnlyDictionary<string, string>? extra = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
            throw new InvalidOperationException("The folder is already committed.");
        var manifest = new JsonObject { ["format"] = 1, ["complete"] = true, ["process"] = Environment.ProcessId, ["finished_utc"] = DateTime.UtcNow.ToString("O") };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
            manifest[k] = v;
        var files = new JsonArray();
        foreach (var file in Directory.EnumerateFiles(Staging).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (name is StagingMarker or ManifestFileName)
                continue;
            using var stream = File.OpenRead(file);
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            files.Add(new JsonObject { ["name"] = name, ["bytes"] = stream.Length, ["sha256"] = hash });
        }
        manifest["files"] = files;
        AtomicFile.WriteAllText(Path.Combine(Staging, ManifestFileName), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        string? old = null;
        if (!Directory.Exists(Target))
        {
            Directory.Move(Staging, Target);
        }
        else if (TryExchange(Staging, Target))
        {
            old = Staging;
        }
        else
        {
            // Two renames: a kill between them leaves the old set at OLD and no target; the next writer restores it.
            old = OldPathOf(Target);
            if (Directory.Exists(old))
                Directory.Delete(old, recursive: true);
            Directory.Move(Target, old);
            Directory.Move(Staging, Target);
        }
        _committed = true;
        TryDelete(Path.Combine(Target, StagingMarker));
        if (old is not null)
            RetireOld(old, Target);
    }

    /// <summary>Deletes an uncommitted staging folder and releases the lock.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            if (!_committed && Directory.Exists(Staging))
                Directory.Delete(Staging, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next writer, which deletes a marked staging folder.
        }
        finally
        {
            _lock.Dispose();
        }
    }

    /// <summary>What a reader finds in <paramref name="folder"/>.</summary>
    /// <param name="folder">An output folder.</param>
    /// <param name="problem">Why the folder is incomplete; null otherwise.</param>
    public static FolderState Inspect(string folder, out string? problem)
    {
        problem = null;
        var manifestPath = Path.Combine(folder, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            if (File.Exists(Path.Combine(folder, StagingMarker)))
            {
                problem = $"'{folder}' is a run that never finished (no {ManifestFileName}).";
                return FolderState.Incomplete;
            }
            return FolderState.Unverified;
        }
        var listed = ReadManifest(manifestPath);
        if (listed is null)
        {
            problem = $"'{manifestPath}' is damaged.";
            return FolderState.Incomplete;
        }
        foreach (var (name, bytes) in listed)
        {
            var path = Path.Combine(folder, name);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != bytes)
            {
                problem = $"'{folder}' does not match its {ManifestFileName}: '{name}' is {(info.Exists ? $"{info.Length} bytes, listed as {bytes}" : "missing")}.";
                return FolderState.Incomplete;
            }
        }
        return FolderState.Complete;
    }

    /// <summary>The staging folder of <paramref name="target"/>: <c>PARENT/.NAME.staging</c>.</summary>
    /// <param name="target">A folder path.</param>
    public static string StagingPathOf(string target) => Sibling(target, ".staging");

    private static string OldPathOf(string target) => Sibling(target, ".old");

    private static string Sibling(string target, string suffix)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        return Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + suffix);
    }

    /// <summary>Repairs what a killed writer left (call under the lock).</summary>
    private static void Recover(string target)
    {
        var old = OldPathOf(target);
        if (Directory.Exists(old))
        {
            if (!Directory.Exists(target))
                Directory.Move(old, target); // killed between the two renames: the old set comes back
            else
                RetireOld(old, target);
        }
        var staging = StagingPathOf(target);
        if (Directory.Exists(staging))
        {
            if (File.Exists(Path.Combine(staging, StagingMarker)))
                Directory.Delete(staging, recursive: true); // never committed
            else if (Directory.Exists(target))
                RetireOld(staging, target); // the old set after a swap: finish moving foreign entries
        }
        if (File.Exists(Path.Combine(target, StagingMarker)) && File.Exists(Path.Combine(target, ManifestFileName)))
            TryDelete(Path.Combine(target, StagingMarker));
    }

    /// <summary>Moves the old folder's foreign entries into the new one, then deletes the old folder.</summary>
    private static void RetireOld(string old, string target)
    {
        var own = ReadManifest(Path.Combine(old, ManifestFileName))?.Select(f => f.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var entry in Directory.EnumerateFileSystemEntries(old).ToList())
        {
            var name = Path.GetFileName(entry);
            if (name is ManifestFileName or StagingMarker || own.Contains(name) || name.StartsWith(".", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal))
                continue;
            var destination = Path.Combine(target, name);
            if (File.Exists(destination) || Directory.Exists(destination))
                continue;
            if (Directory.Exists(entry))
                Directory.Move(entry, destination);
            else
                File.Move(entry, destination);
        }
        Directory.Delete(old, recursive: true);
    }

    /// <summary>The (name, bytes) pairs a manifest lists, or null when it is missing or damaged.</summary>
    private static List<(string Name, long Bytes)>? ReadManifest(string path)
    {
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > 1 << 20)
                return null;
            var root = JsonNode.Parse(File.ReadAllText(path));
            var list = new List<(string, long)>();
            foreach (var node in root?["files"]?.AsArray() ?? [])
            {
                var name = node?["name"]?.GetValue<string>();
                var bytes = node?["bytes"]?.GetValue<long>();
                if (name is null || bytes is null || name.Contains('/') || name.Contains('\\') || name is "." or "..")
                    return null;
                list.Add((name, bytes.Value));
            }
            return list;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IOException)
        {
            return null;
        }
    }

    private static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            return renameat2(-100, a, -100, b, RenameExchange) == 0; // AT_FDCWD; EINVAL/ENOSYS/EXDEV: use two renames
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int renameat2(int oldDirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, int newDirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath, uint flags);
}
