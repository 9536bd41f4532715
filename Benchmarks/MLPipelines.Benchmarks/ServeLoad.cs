using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>serve-load --url http://127.0.0.1:PORT --path /predict --image FILE [--requests 2000] [--clients 1,4] [--warmup 50]
/// [--pid PID] [--label NAME] [--check-bad]</c>: a bounded load loop against a local server (127.0.0.1 / localhost only):
/// each of C clients posts the image as the multipart field <c>image</c> until N requests are done; prints requests/s,
/// p50/p99 latency, errors and the server's resident memory (current and peak, from /proc/PID/status) per client count.
/// <c>--check-bad</c> then posts a non-image, expects a 4xx JSON error, and checks that a good request still succeeds.
/// Used by <c>Benchmarks/serving/run-load.sh</c> (docs/serving.md).
/// </summary>
internal static class ServeLoad
{
    public static async Task<int> Run(string[] args)
    {
        var url = new Uri(Value(args, "--url") ?? throw new ArgumentException("--url is required"));
        if (!url.IsLoopback)
            throw new ArgumentException($"serve-load only loads local servers (127.0.0.1 / localhost), not {url.Host}.");
        string path = Value(args, "--path") ?? "/predict";
        string image = Value(args, "--image") ?? throw new ArgumentException("--image is required");
        int requests = int.Parse(Value(args, "--requests") ?? "2000", CultureInfo.InvariantCulture);
        int warmup = int.Parse(Value(args, "--warmup") ?? "50", CultureInfo.InvariantCulture);
        int[] clientCounts = (Value(args, "--clients") ?? "1,4").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int? pid = Value(args, "--pid") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : null;
        string label = Value(args, "--label") ?? path;

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(60),
        };
        var (body, contentType) = Multipart(image);
        await Load(http, path, body, contentType, warmup, 2); // JIT, engines, connections

        Console.WriteLine("| server / endpoint | clients | requests | errors | requests/s | p50 ms | p99 ms | server RSS MB (peak) |");
        int failures = 0;
        foreach (int clients in clientCounts)
        {
            var result = await Load(http, path, body, contentType, requests, clients);
            failures += result.Errors;
            string memory = pid is int id ? Memory(id) : "–";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {clients} | {requests} | {result.Errors} | {requests / result.Seconds:F0} | {result.P50:F2} | {result.P99:F2} | {memory} |"));
            if (result.FirstError is { } first)
                Console.WriteLine($"  first error: {first}");
        }

        if (args.Contains("--check-bad"))
        {
            using var bad = new MultipartFormDataContent { { new ByteArrayContent("not an image at all"u8.ToArray()), "image", "bad.txt" } };
            using var badResponse = await http.PostAsync(path, bad);
            string badText = await badResponse.Content.ReadAsStringAsync();
            int code = (int)badResponse.StatusCode;
            using var good = new ByteArrayContent(body);
            good.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            using var goodResponse = await http.PostAsync(path, good);
            bool ok = code is >= 400 and < 500 && badText.TrimStart().StartsWith('{') && goodResponse.IsSuccessStatusCode;
            Console.WriteLine($"  bad upload: {code} {badText}; next good request: {(int)goodResponse.StatusCode}{(ok ? "" : "  <-- FAILED")}");
            if (!ok)
                failures++;
        }
        return failures == 0 ? 0 : 1;
    }

    private sealed record LoadResult(double Seconds, double P50, double P99, int Errors, string? FirstError);

    private static async Task<LoadResult> Load(HttpClient http, string path, byte[] body, string contentType, int requests, int clients)
    {
        int next = -1, errors = 0;
        string? firstError = null;
        var latencies = new double[requests];
        var watch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                    using var response = await http.PostAsync(path, content).ConfigureAwait(false);
                    string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {text}", null);
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                }
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        double seconds = watch.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new LoadResult(seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99), errors, firstError);
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>The request body once: a multipart form with the image in the field <c>image</c>.</summary>
    private static (byte[] Body, string ContentType) Multipart(string image)
    {
        using var form = new MultipartFormDataContent("mlpipelines-load-boundary")
        {
            { new ByteArrayContent(File.ReadAllBytes(image)), "image", Path.GetFileName(image) },
        };
        using var stream = new MemoryStream();
        form.CopyTo(stream, null, CancellationToken.None);
        return (stream.ToArray(), form.Headers.ContentType!.ToString());
    }

    /// <summary>VmRSS (VmHWM) of a process in MB, from /proc.</summary>
    private static string Memory(int pid)
    {
        try
        {
            var lines = File.ReadAllLines($"/proc/{pid}/status");
            double Kb(string key) => double.Parse(lines.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return string.Create(CultureInfo.InvariantCulture, $"{Kb("VmRSS") / 1024:F0} ({Kb("VmHWM") / 1024:F0})");
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
