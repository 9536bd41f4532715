using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace MLPipelines.Data;

/// <summary>Download progress.</summary>
/// <param name="BytesReceived">Bytes of the file present so far (including a resumed part).</param>
/// <param name="TotalBytes">Total size when the server says it; otherwise <see langword="null"/>.</param>
public readonly record struct DownloadProgress(long BytesReceived, long? TotalBytes);

/// <summary>
/// Downloads files over HTTP(S) with resume and optional SHA-256 verification, and extracts zip archives
/// safely. The file is written to <c>destination.part</c> first; a later call continues a broken download
/// with an HTTP Range request (restarting when the server ignores the range), and the finished file is
/// moved into place only after verification.
/// </summary>
public sealed class DatasetDownloader : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsClient;

    /// <summary>Creates a downloader.</summary>
    /// <param name="httpClient">Client to use (not disposed by this object); a new one when <see langword="null"/>.</param>
    public DatasetDownloader(HttpClient? httpClient = null)
    {
        _ownsClient = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Suffix of the partial file beside the destination.</summary>
    public const string PartSuffix = ".part";

    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="destinationPath"/>. If <c>destinationPath.part</c>
    /// exists, asks for the remaining bytes with <c>Range: bytes=N-</c>; a 200 reply (range ignored) restarts
    /// from zero, a 416 reply discards the part and restarts. A connection that breaks leaves the part file for
    /// the next call. When <paramref name="expectedSha256"/> is given, a mismatch deletes the part and throws.
    /// </summary>
    /// <param name="url">Source URL.</param>
    /// <param name="destinationPath">Final file path (replaced if it exists).</param>
    /// <param name="expectedSha256">Expected SHA-256 as hex (case-insensitive), or <see langword="null"/> to skip the check.</param>
    /// <param name="progress">Receives progress after each chunk.</param>
    /// <param name="cancellationToken">Cancels the download (the part file is kept).</param>
    /// <returns>The full destination path.</returns>
    /// <exception cref="HttpRequestException">The server answers with an error status (the message names the URL).</exception>
    /// <exception cref="InvalidDataException">The SHA-256 differs (the message names the file and both hashes).</exception>
    public async Task<string> DownloadFileAsync(Uri url, string destinationPath, string? expectedSha256 = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationPath);
        string dest = Path.GetFullPath(destinationPath);
        Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
        string part = dest + PartSuffix;

        for (int attempt = 0; attempt < 2; attempt++)
        {
            long existing = File.Exists(part) ? new FileInfo(part).Length : 0;
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (existing > 0) request.Headers.Range = new RangeHeaderValue(existing, null);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);

            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && existing > 0)
            {
                File.Delete(part); // the part does not fit what the server has now: start over
                continue;
            }
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"Downloading '{url}' failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.",
                    null, response.StatusCode);

            bool append = existing > 0 && response.StatusCode == HttpStatusCode.PartialContent
                          && response.Content.Headers.ContentRange?.From == existing;
            if (existing > 0 && response.StatusCode == HttpStatusCode.PartialContent && !append)
                throw new InvalidDataException($"Downloading '{url}': the server sent range {response.Content.Headers.ContentRange} but {existing} bytes were requested from.");
            long start = append ? existing : 0;
            long? total = response.Content.Headers.ContentRange?.Length
                          ?? (response.Content.Headers.ContentLength is long cl ? start + cl : null);

            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            await using (var file = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                long received = start;
                progress?.Report(new DownloadProgress(received, total));
                while (true)
                {
                    int n = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (n == 0) break;
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    received += n;
                    progress?.Report(new DownloadProgress(received, total));
                }
                if (total is long t && received != t)
                    throw new IOException($"Downloading '{url}' to '{part}': the connection ended after {received} of {t} bytes; call again to resume.");
            }

            if (expectedSha256 is not null)
            {
                string actual = await ComputeSha256Async(part, cancellationToken).ConfigureAwait(false);
                if (!string.Equals(actual, expectedSha256.Trim(), StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(part);
                    throw new InvalidDataException(
                        $"SHA-256 mismatch for '{dest}' downloaded from '{url}': expected {expectedSha256.Trim().ToLowerInvariant()}, got {actual}. The download was deleted.");
                }
            }
            File.Move(part, dest, overwrite: true);
            return dest;
        }
        throw new HttpRequestException($"Downloading '{url}' failed: the server rejected resuming and restarting.");
    }

    /// <summary>Computes the SHA-256 of a file as lower-case hex.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>64 hex characters.</returns>
    public static async Task<string> ComputeSha256Async(string path, CancellationToken cancellationToken = default)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var hash = await SHA256.HashDataAsync(fs, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// Extracts a zip archive into <paramref name="destinationFolder"/>, refusing any entry that would land
    /// outside it (zip slip: <c>../</c>, absolute paths).
    /// </summary>
    /// <param name="zipPath">The archive.</param>
    /// <param name="destinationFolder">Target folder (created if missing).</param>
    /// <param name="mapEntry">Maps an entry's full name to a relative output path, or <see langword="null"/> to skip it; identity when <see langword="null"/>.</param>
    /// <returns>Number of files extracted.</returns>
    /// <exception cref="InvalidDataException">The archive is invalid, or an entry escapes the folder (the message names the archive and entry).</exception>
    public static int ExtractZip(string zipPath, string destinationFolder, Func<string, string?>? mapEntry = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(zipPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationFolder);
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destinationFolder));
        string rootWithSep = root + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(root);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(zipPath);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{zipPath}' is not a valid zip archive: {ex.Message}", ex);
        }
        int count = 0;
        using (zip)
        {
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\')) continue;
                string? rel = mapEntry is null ? entry.FullName : mapEntry(entry.FullName);
                if (rel is null) continue;
                string target = Path.GetFullPath(Path.Combine(root, rel.Replace('\\', '/')));
                if (Path.IsPathRooted(rel) || !target.StartsWith(rootWithSep, StringComparison.Ordinal))
                    throw new InvalidDataException($"Zip entry '{entry.FullName}' in '{zipPath}' would be extracted outside '{root}'; refusing (zip slip).");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                entry.ExtractToFile(target, overwrite: true);
                count++;
            }
        }
        return count;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient) _http.Dispose();
    }
}

/// <summary>Options of <see cref="SignLanguageDigitsDownload"/>.</summary>
public sealed class SignLanguageDigitsDownloadOptions
{
    /// <summary>Archive URL. Default: the GitHub archive of ardamavi/Sign-Language-Digits-Dataset (master).</summary>
    public Uri Url { get; init; } = new(SignLanguageDigitsDownload.DefaultUrl);

    /// <summary>
    /// Expected SHA-256 of the archive (hex), or <see langword="null"/> to skip the check (the default: GitHub
    /// builds branch archives on demand and does not promise stable bytes).
    /// </summary>
    public string? ExpectedSha256 { get; init; }

    /// <summary>Replace an existing dataset folder. Default <see langword="false"/>: an existing folder is returned untouched.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Keep the downloaded archive beside the dataset. Default <see langword="false"/>.</summary>
    public bool KeepArchive { get; init; }

    /// <summary>Folder inside the archive holding the digit folders.</summary>
    public string ArchivePrefix { get; init; } = SignLanguageDigitsDownload.DefaultArchivePrefix;
}

/// <summary>
/// Downloads the Sign Language Digits dataset archive and installs it as
/// <c>&lt;dataRoot&gt;/sign-language-digits/&lt;digit&gt;/*</c>: the archive goes to
/// <c>&lt;dataRoot&gt;/sign-language-digits.zip</c> (resumable), the digit folders are extracted into a
/// temporary folder beside the target, which is then moved into place in one step.
/// </summary>
public static class SignLanguageDigitsDownload
{
    /// <summary>GitHub archive of the public dataset repository.</summary>
    public const string DefaultUrl = "https://github.com/ardamavi/Sign-Language-Digits-Dataset/archive/refs/heads/master.zip";

    /// <summary>Folder inside the archive that holds one folder per digit.</summary>
    public const string DefaultArchivePrefix = "Sign-Language-Digits-Dataset-master/Dataset/";

    /// <summary>Downloads and installs the dataset.</summary>
    /// <param name="dataRoot">Data root; the dataset ends up in <c>dataRoot/sign-language-digits</c>.</param>
    /// <param name="options">Options; defaults when <see langword="null"/>.</param>
    /// <param name="progress">Download progress.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <param name="httpClient">HTTP client to use, or <see langword="null"/> for a new one.</param>
    /// <returns>The dataset folder.</returns>
    /// <exception cref="InvalidDataException">Checksum mismatch, a bad archive, or an archive without digit folders under the prefix.</exception>
    public static async Task<string> DownloadAsync(string dataRoot, SignLanguageDigitsDownloadOptions? options = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default, HttpClient? httpClient = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRoot);
        options ??= new SignLanguageDigitsDownloadOptions();
        string root = Path.GetFullPath(dataRoot);
        string target = Path.Combine(root, SignLanguageDigits.FolderName);
        if (Directory.Exists(target) && !options.Overwrite) return target;
        Directory.CreateDirectory(root);

        string archive = Path.Combine(root, SignLanguageDigits.FolderName + ".zip");
        using (var downloader = new DatasetDownloader(httpClient))
            await downloader.DownloadFileAsync(options.Url, archive, options.ExpectedSha256, progress, cancellationToken).ConfigureAwait(false);

        string prefix = options.ArchivePrefix.Replace('\\', '/');
        if (prefix.Length > 0 && !prefix.EndsWith('/')) prefix += "/";
        string temp = Path.Combine(root, "." + SignLanguageDigits.FolderName + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            int n = DatasetDownloader.ExtractZip(archive, temp, name =>
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
                string rel = name[prefix.Length..];
                int slash = rel.IndexOf('/');
                // keep <class>/<file> only; files directly under the prefix are not images of a class
                return slash > 0 && slash < rel.Length - 1 ? rel : null;
            });
            if (n == 0)
                throw new InvalidDataException($"Archive '{archive}' from '{options.Url}' has no files under '{prefix}<class>/'.");
            if (Directory.Exists(target))
                Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
        if (!options.KeepArchive) File.Delete(archive);
        return target;
    }
}
