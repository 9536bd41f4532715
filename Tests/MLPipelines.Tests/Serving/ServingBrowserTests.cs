using System.Diagnostics;
using System.Net.Sockets;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Serving;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit.Abstractions;
using static MLPipelines.Tests.Serving.ServingApps;

namespace MLPipelines.Tests.Serving;

/// <summary>The server on real HTTP (Kestrel on 127.0.0.1): the page in a headless browser, load from 4 clients, shutdown.</summary>
[Collection(ServingCollection.Name)]
public sealed class ServingBrowserTests(ServingFixture fixture, ITestOutputHelper output)
{
    /// <summary>Debian's chromium and its driver (apt-get install chromium chromium-driver; .ci/run installs them when it can).</summary>
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>The driver Selenium talks to.</summary>
    public const string ChromeDriver = "/usr/bin/chromedriver";

    /// <summary>When set, the browser test saves its screenshot of the page there (a PNG).</summary>
    public const string ScreenshotVariable = "MLPIPELINES_SERVING_SCREENSHOT";

    [SkippableFact]
    public async Task Page_in_a_headless_browser_uploads_an_image_and_shows_the_label_the_bars_and_the_gallery()
    {
        Skip.IfNot(File.Exists(Chromium) && File.Exists(ChromeDriver),
            $"no headless browser: {Chromium} or {ChromeDriver} is missing (apt-get install chromium chromium-driver)");
        var (app, address) = await StartKestrel(new ServingOptions { ModelPath = fixture.M1Run, IndexFolder = fixture.KnnRun });
        await using var _ = app;
        var query = Directory.GetFiles(Path.Combine(fixture.M1Data, "b")).Order(StringComparer.Ordinal).First();
        var expected = ImageModelPredictor.Load(Path.Combine(fixture.M1Run, "model.zip")).Predict([query]).Single();
        var expectedNeighbors = SimilarImages.Find(fixture.KnnRun, query, 8).Neighbors;

        var watch = Stopwatch.StartNew();
        using var driver = StartBrowser();
        driver.Navigate().GoToUrl(address);
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(20));
        wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-state") == "ready");
        Assert.Contains("validation accuracy", driver.FindElement(By.Id("card")).Text, StringComparison.Ordinal);

        driver.FindElement(By.Id("file")).SendKeys(query);
        wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-state") is "done" or "error");
        Assert.Equal("done", driver.FindElement(By.TagName("body")).GetAttribute("data-state"));
        Assert.Equal(expected.Label, driver.FindElement(By.Id("label")).Text);
        Assert.Equal(2, driver.FindElements(By.CssSelector("#bars .bar")).Count);
        var gallery = driver.FindElements(By.CssSelector("#gallery figure img"));
        Assert.Equal(8, gallery.Count);
        var captions = driver.FindElements(By.CssSelector("#gallery figcaption")).Select(c => c.Text).ToList();
        for (int i = 0; i < 8; i++)
            Assert.StartsWith($"#{i + 1} {expectedNeighbors[i].LabelName} ", captions[i], StringComparison.Ordinal);
        // Every gallery image was actually served and decoded by the browser.
        wait.Until(d => (bool)((IJavaScriptExecutor)d).ExecuteScript("return [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0);")!);

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } screenshot)
            driver.GetScreenshot().SaveAsFile(screenshot);
        output.WriteLine($"browser session {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Kestrel_answers_four_concurrent_clients_refuses_oversized_chunked_bodies_and_stops_gracefully()
    {
        var (app, address) = await StartKestrel(new ServingOptions { ModelPath = fixture.M1Run, MaxRequestBytes = 64 * 1024 });
        var files = Directory.GetFiles(Path.Combine(fixture.M1Data, "a")).Take(4).ToArray();
        using var http = new HttpClient { BaseAddress = address };
        var clients = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
            {
                var (status, json) = await Post(http, "/predict", Image(files[(c + i) % files.Length]));
                Assert.Equal(200, status);
                Assert.True(json.TryGetProperty("label", out _));
            }
        }));
        await Task.WhenAll(clients);

        // No Content-Length: Kestrel's own body limit answers, still as JSON.
        var chunked = new StreamContent(new MemoryStream(new byte[100 * 1024]));
        chunked.Headers.ContentLength = null;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = chunked })
        {
            request.Headers.TransferEncodingChunked = true;
            using var response = await http.SendAsync(request);
            Assert.Equal(413, (int)response.StatusCode);
            Assert.Contains("\"status\":413", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var (after, _) = await Post(http, "/predict", Image(files[0]));
        Assert.Equal(200, after);

        // A request in flight when the stop begins (its body half sent) still gets its answer.
        // (100 x 100 BMP, 30 KB: the first half is more than the client's write buffer, so the server sees the request.)
        using var form = Form(("image", "slow.bmp", MLPipelines.Tests.Data.Bmp.Create(100, 100, (x, y) => ((byte)x, (byte)y, 90))));
        var body = await form.ReadAsByteArrayAsync();
        var gate = new TaskCompletionSource();
        var slow = new StreamContent(new GatedStream(body, body.Length / 2, gate.Task));
        slow.Headers.ContentType = form.Headers.ContentType;
        slow.Headers.ContentLength = body.Length;
        var inFlight = http.PostAsync("/predict", slow);
        await Task.Delay(300);
        var stop = app.StopAsync();
        await Task.Delay(200);
        bool stoppedEarly = stop.IsCompleted;
        gate.SetResult();
        string lastText;
        int lastCode;
        try
        {
            using var last = await inFlight;
            (lastCode, lastText) = ((int)last.StatusCode, await last.Content.ReadAsStringAsync());
        }
        catch (Exception e)
        {
            (lastCode, lastText) = (-1, e.ToString());
        }
        output.WriteLine($"stopped early {stoppedEarly}, in-flight {lastCode} {lastText}");
        Assert.False(stoppedEarly, "the host stopped before its request in flight was answered");
        Assert.Equal(200, lastCode);
        await stop.WaitAsync(TimeSpan.FromSeconds(15));
        await app.DisposeAsync();
        using var socket = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => socket.ConnectAsync(address.Host, address.Port));
    }

    /// <summary>Gives the first <c>split</c> bytes at once and the rest after <c>gate</c> completes.</summary>
    private sealed class GatedStream(byte[] data, int split, Task gate) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_position >= split)
                await gate.WaitAsync(cancellationToken);
            int end = _position < split ? split : data.Length;
            int n = Math.Min(count, end - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var array = new byte[buffer.Length];
            return new ValueTask<int>(ReadAsync(array, 0, array.Length, cancellationToken).ContinueWith(t =>
            {
                array.AsSpan(0, t.Result).CopyTo(buffer.Span);
                return t.Result;
            }, cancellationToken, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
        }
    }

    private static ChromeDriver StartBrowser()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,760", "--no-first-run");
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }
}
