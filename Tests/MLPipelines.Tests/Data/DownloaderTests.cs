using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MLPipelines.Data;

namespace MLPipelines.Tests.Data;

/// <summary>
/// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 serving one body, honouring "Range: bytes=N-"
/// unless told not to, and able to cut the first response after a number of body bytes.
/// </summary>
internal sealed class TinyHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(60));
    private readonly Task _loop;
    private readonly byte[] _body;
    private readonly List<string?> _ranges = [];

    public TinyHttpServer(byte[] body, int cutFirstResponseAfter = -1, bool ignoreRange = false, int status = 200)
    {
        _body = body;
        CutFirstResponseAfter = cutFirstResponseAfter;
        IgnoreRange = ignoreRange;
        Status = status;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/archive/master.zip");
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }
    public int CutFirstResponseAfter { get; }
    public bool IgnoreRange { get; }
    public int Status { get; }

    /// <summary>The Range header of each request (null when absent), in order.</summary>
    public IReadOnlyList<string?> Ranges { get { lock (_ranges) return _ranges.ToList(); } }

    private async Task LoopAsync()
    {
        int requestIndex = 0;
        while (!_cts.IsCancellationRequested && requestIndex < 20)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_cts.Token); }
            catch (Exception) { return; }
            using (client)
            {
                try { await HandleAsync(client, requestIndex++); }
                catch (IOException) { }
                catch (SocketException) { }
            }
        }
    }

    private async Task HandleAsync(TcpClient client, int index)
    {
        var stream = client.GetStream();
        var buf = new byte[16384];
        int len = 0;
        while (len < buf.Length)
        {
            int n = await stream.ReadAsync(buf.AsMemory(len), _cts.Token);
            if (n == 0) return;
            len += n;
            if (Encoding.ASCII.GetString(buf, 0, len).Contains("\r\n\r\n", StringComparison.Ordinal)) break;
        }
        string request = Encoding.ASCII.GetString(buf, 0, len);
        string? range = request.Split("\r\n").FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?[6..].Trim();
        lock (_ranges) _ranges.Add(range);

        if (Status != 200)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {Status} Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _cts.Token);
            return;
        }
        long from = 0;
        if (range is not null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            from = long.Parse(range[6..^1]);
        string head = from > 0
            ? $"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{_body.Length - 1}/{_body.Length}\r\nContent-Length: {_body.Length - from}\r\n"
            : $"HTTP/1.1 200 OK\r\nContent-Length: {_body.Length}\r\n";
        head += "Content-Type: application/zip\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _cts.Token);
        int count = _body.Length - (int)from;
        if (index == 0 && CutFirstResponseAfter >= 0) count = Math.Min(count, CutFirstResponseAfter);
        await stream.WriteAsync(_body.AsMemory((int)from, count), _cts.Token);
        await stream.FlushAsync(_cts.Token);
    }

    public void Dispose()
    {
        _cts.Cancel();
        _listener.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _cts.Dispose();
    }
}

public sealed class DownloaderTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    private static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    [Fact]
    public async Task Download_WholeFile_VerifiesHashAndReportsProgress()
    {
        var body = RandomBytes(300_000, 1);
        using var server = new TinyHttpServer(body);
        using var d = new DatasetDownloader(_http);
        var reports = new List<DownloadProgress>();
        string dest = _dir.Combine("f.zip");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        string got = await d.DownloadFileAsync(server.Url, dest, Sha(body).ToUpperInvariant(), new SyncProgress<DownloadProgress>(reports.Add), cts.Token);

        Assert.Equal(dest, got);
        Assert.Equal(body, File.ReadAllBytes(dest));
        Assert.False(File.Exists(dest + DatasetDownloader.PartSuffix));
        Assert.Equal([(string?)null], server.Ranges);
        Assert.Equal(new DownloadProgress(body.Length, body.Length), reports[^1]);
        Assert.True(reports.Count >= 2);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.BytesReceived <= p.Second.BytesReceived));
    }

    [Fact]
    public async Task Download_BrokenConnection_ResumesWithRangeRequest()
    {
        var body = RandomBytes(200_000, 2);
        const int cut = 80_000;
        using var server = new TinyHttpServer(body, cutFirstResponseAfter: cut);
        using var d = new DatasetDownloader(_http);
        string dest = _dir.Combine("f.zip");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await Assert.ThrowsAnyAsync<IOException>(() => d.DownloadFileAsync(server.Url, dest, Sha(body), null, cts.Token));
        string part = dest + DatasetDownloader.PartSuffix;
        Assert.True(File.Exists(part));
        Assert.Equal(cut, new FileInfo(part).Length);
        Assert.False(File.Exists(dest));

        var reports = new List<DownloadProgress>();
        await d.DownloadFileAsync(server.Url, dest, Sha(body), new SyncProgress<DownloadProgress>(reports.Add), cts.Token);

        Assert.Equal([null, $"bytes={cut}-"], server.Ranges);
        Assert.Equal(body, File.ReadAllBytes(dest));
        Assert.False(File.Exists(part));
        Assert.Equal(new DownloadProgress(cut, body.Length), reports[0]);
    }

    [Fact]
    public async Task Download_ServerIgnoresRange_Restarts()
    {
        var body = RandomBytes(50_000, 3);
        using var server = new TinyHttpServer(body, ignoreRange: true);
        using var d = new DatasetDownloader(_http);
        string dest = _dir.Combine("f.zip");
        File.WriteAllBytes(dest + DatasetDownloader.PartSuffix, RandomBytes(1234, 4)); // stale part
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await d.DownloadFileAsync(server.Url, dest, Sha(body), null, cts.Token);

        Assert.Equal(["bytes=1234-"], server.Ranges);
        Assert.Equal(body, File.ReadAllBytes(dest));
    }

    [Fact]
    public async Task Download_ChecksumMismatch_NamesFileAndBothHashes()
    {
        var body = RandomBytes(10_000, 5);
        using var server = new TinyHttpServer(body);
        using var d = new DatasetDownloader(_http);
        string dest = _dir.Combine("data.zip");
        string wrong = new('a', 64);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => d.DownloadFileAsync(server.Url, dest, wrong, null, cts.Token));

        Assert.Contains(dest, ex.Message);
        Assert.Contains(wrong, ex.Message);
        Assert.Contains(Sha(body), ex.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + DatasetDownloader.PartSuffix));
    }

    [Fact]
    public async Task Download_HttpError_NamesUrl()
    {
        using var server = new TinyHttpServer([], status: 404);
        using var d = new DatasetDownloader(_http);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => d.DownloadFileAsync(server.Url, _dir.Combine("x.zip"), null, null, cts.Token));
        Assert.Contains(server.Url.ToString(), ex.Message);
        Assert.Contains("404", ex.Message);
    }

    private static byte[] BuildArchive(Action<ZipArchive>? extra = null)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(data);
            }
            Add("Sign-Language-Digits-Dataset-master/README.md", Encoding.UTF8.GetBytes("readme"));
            Add("Sign-Language-Digits-Dataset-master/Dataset/LICENSE", Encoding.UTF8.GetBytes("license"));
            foreach (var digit in new[] { "6", "8" })
                for (int i = 0; i < 2; i++)
                    Add($"Sign-Language-Digits-Dataset-master/Dataset/{digit}/IMG_{i}.bmp", Bmp.Solid(3, 3, (byte)(i * 100), 50, 50));
            extra?.Invoke(zip);
        }
        return ms.ToArray();
    }

    [Fact]
    public async Task SignLanguageDigits_DownloadsExtractsAndPlacesAtomically()
    {
        var archive = BuildArchive();
        using var server = new TinyHttpServer(archive);
        string root = _dir.Combine("data");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        string folder = await SignLanguageDigitsDownload.DownloadAsync(root,
            new SignLanguageDigitsDownloadOptions { Url = server.Url, ExpectedSha256 = Sha(archive) }, null, cts.Token, _http);

        Assert.Equal(Path.Combine(root, "sign-language-digits"), folder);
        Assert.Equal(new[] { "sign-language-digits" }, Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)).ToArray());
        var ds = SignLanguageDigits.Load(root);
        Assert.Equal(["6", "8"], ds.Classes);
        Assert.Equal(2, ds.CountsByClass["6"]);
        Assert.Empty(Directory.GetFiles(folder)); // LICENSE at the prefix level is not a class image

        // second call: existing folder is kept, no request
        await SignLanguageDigitsDownload.DownloadAsync(root, new SignLanguageDigitsDownloadOptions { Url = server.Url }, null, cts.Token, _http);
        Assert.Single(server.Ranges);
    }

    [Fact]
    public void ExtractZip_RefusesZipSlip()
    {
        var archive = BuildArchive(zip =>
        {
            using var s = zip.CreateEntry("../evil.txt").Open();
            s.Write("x"u8);
        });
        string zipPath = _dir.Combine("a.zip");
        File.WriteAllBytes(zipPath, archive);
        string dest = _dir.Combine("out", "inner");

        var ex = Assert.Throws<InvalidDataException>(() => DatasetDownloader.ExtractZip(zipPath, dest));
        Assert.Contains("../evil.txt", ex.Message);
        Assert.Contains(zipPath, ex.Message);
        Assert.False(File.Exists(_dir.Combine("out", "evil.txt")));

        ex = Assert.Throws<InvalidDataException>(() => DatasetDownloader.ExtractZip(zipPath, dest, n => n.StartsWith("Sign", StringComparison.Ordinal) ? "../../x" : null));
        Assert.Contains("outside", ex.Message);
    }
}
