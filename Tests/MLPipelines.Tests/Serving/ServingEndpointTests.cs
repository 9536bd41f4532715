using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using MLPipelines.IO;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Pipelines.Models;
using MLPipelines.Pipelines.Reporting;
using MLPipelines.Serving;
using MLPipelines.Testing;
using MLPipelines.Tests.Data;
using static MLPipelines.Tests.Serving.ServingApps;

namespace MLPipelines.Tests.Serving;

[CollectionDefinition(Name)]
public sealed class ServingCollection : ICollectionFixture<ServingFixture>
{
    public const string Name = "serving";
}

/// <summary>
/// Every endpoint and every error path of <c>mlpipelines serve</c> on the in-process test server, with real (tiny)
/// models: answers are compared with the file-based predictors (<see cref="ImageModelPredictor"/>, <see cref="SimilarImages"/>).
/// </summary>
[Collection(ServingCollection.Name)]
public sealed class ServingEndpointTests(ServingFixture fixture) : IAsyncLifetime
{
    private const long RequestLimit = 256 * 1024;
    private const long PixelLimit = 40 * 40;
    private WebApplication? _app;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        (_app, _client) = await StartTestServer(new ServingOptions
        {
            ModelPath = fixture.M1Run, IndexFolder = fixture.KnnRun, MaxRequestBytes = RequestLimit, MaxImagePixels = PixelLimit, MaxItemsPerRequest = 8,
        });
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }

    private string[] Images(string cls) => Directory.GetFiles(Path.Combine(fixture.M1Data, cls)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Healthz_and_model_card_describe_the_loaded_model_and_its_metrics()
    {
        var (status, health) = await Send(_client, HttpMethod.Get, "/healthz");
        Assert.Equal(200, status);
        Assert.Equal("ok", health.GetProperty("status").GetString());

        var (cardStatus, card) = await Send(_client, HttpMethod.Get, "/model");
        Assert.Equal(200, cardStatus);
        Assert.Equal("m1", card.GetProperty("kind").GetString());
        Assert.Equal("binary", card.GetProperty("task").GetString());
        Assert.Equal(["a", "b"], card.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(28, card.GetProperty("image_size").GetInt32());
        Assert.Equal(1, card.GetProperty("channels").GetInt32());
        Assert.Equal("6.0.0", card.GetProperty("mlnet_version").GetString());
        var metrics = MetricsJson.Read(Path.Combine(fixture.M1Run, "metrics.json"));
        Assert.Equal(metrics.Validation.Accuracy, card.GetProperty("metrics").GetProperty("validation").GetProperty("accuracy").GetDouble(), 12);
        Assert.False(card.GetProperty("metrics").GetProperty("validation").TryGetProperty("confusion", out _), "matrices are left out of the card");
        var index = card.GetProperty("index");
        Assert.Equal(24, index.GetProperty("images").GetInt32()); // 80% of 3 x 10 generated images
        Assert.Equal("euclidean", index.GetProperty("metric").GetString());
    }

    [Fact]
    public async Task Predict_scores_uploads_in_memory_exactly_like_the_saved_chain_on_files()
    {
        var predictor = ImageModelPredictor.Load(Path.Combine(fixture.M1Run, "model.zip"));
        var files = Images("a").Take(3).Concat(Images("b").Take(3)).ToArray();
        var expected = predictor.Predict(files);
        int correct = 0;
        for (int i = 0; i < files.Length; i++)
        {
            var (status, json) = await Post(_client, "/predict", Image(files[i]));
            Assert.Equal(200, status);
            Assert.Equal(expected[i].Label, json.GetProperty("label").GetString());
            float p = json.GetProperty("probability").GetSingle();
            Assert.True(Math.Abs(expected[i].Probability - p) < 1e-5, $"{files[i]}: server {p}, file-based {expected[i].Probability}");
            var scores = json.GetProperty("scores");
            Assert.Equal(1f, scores.GetProperty("a").GetSingle() + scores.GetProperty("b").GetSingle(), 5);
            Assert.Equal(p, scores.GetProperty(expected[i].Label).GetSingle());
            if (json.GetProperty("label").GetString() == Path.GetFileName(Path.GetDirectoryName(files[i])))
                correct++;
        }
        Assert.True(correct >= 5, $"{correct} of 6 training images right");
    }

    [Fact]
    public async Task Predict_several_files_answers_each_and_reports_the_bad_one_without_failing_the_others()
    {
        var a = Images("a")[0];
        var b = Images("b")[0];
        var (status, json) = await Post(_client, "/predict", Form(
            ("image", "a.bmp", File.ReadAllBytes(a)), ("image", "notes.txt", "hello, not an image"u8.ToArray()), ("image", "b.bmp", File.ReadAllBytes(b))));
        Assert.Equal(200, status);
        var items = json.EnumerateArray().ToList();
        Assert.Equal(3, items.Count);
        Assert.Equal("a.bmp", items[0].GetProperty("file").GetString());
        Assert.True(items[0].TryGetProperty("label", out _));
        Assert.Equal("notes.txt", items[1].GetProperty("file").GetString());
        Assert.Equal(400, items[1].GetProperty("status").GetInt32());
        Assert.Contains("not an image", items[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("b.bmp", items[2].GetProperty("file").GetString());
        Assert.True(items[2].TryGetProperty("probability", out _));
    }

    [Fact]
    public async Task Predict_reads_npy_bodies_like_the_image_and_one_result_per_row()
    {
        var file = Images("b")[1];
        var (_, fromImage) = await Post(_client, "/predict", Image(file));
        var grey = GreyLevels(file);
        var (status, fromNpy) = await Post(_client, "/predict", Npy(NpyArray.FromFloat64(grey.Select(v => (double)v).ToArray(), 28, 28)));
        Assert.Equal(200, status);
        Assert.Equal(fromImage.GetProperty("label").GetString(), fromNpy.GetProperty("label").GetString());
        Assert.Equal(fromImage.GetProperty("probability").GetSingle(), fromNpy.GetProperty("probability").GetSingle(), 4);

        // (2, 784) in 0-1: an array, one row each.
        var batch = grey.Concat(grey).Select(v => v / 255f).ToArray();
        var (batchStatus, rows) = await Post(_client, "/predict", Npy(NpyArray.FromFloat32(batch, 2, 784)));
        Assert.Equal(200, batchStatus);
        Assert.Equal([0, 1], rows.EnumerateArray().Select(r => r.GetProperty("row").GetInt32()));

        var (wrongStatus, wrong) = await Post(_client, "/predict", Npy(NpyArray.FromFloat32(new float[100], 10, 10)));
        Assert.Equal(400, wrongStatus);
        Assert.Contains("784", wrong.GetProperty("error").GetString(), StringComparison.Ordinal);
        var nan = grey.ToArray();
        nan[3] = float.NaN;
        var (nanStatus, nanError) = await Post(_client, "/predict", Npy(NpyArray.FromFloat32(nan, 784)));
        Assert.Equal(400, nanStatus);
        Assert.Contains("NaN", nanError.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_bad_request_gets_a_4xx_json_error_naming_the_problem_and_the_server_keeps_serving()
    {
        var good = Images("a")[0];
        var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
        var cases = new (string Name, Func<Task<(int, JsonElement)>> Send, int Status, string Says)[]
        {
            ("text file", () => Post(_client, "/predict", Form(("image", "a.txt", Encoding.UTF8.GetBytes("just text")))), 400, "not an image"),
            ("truncated png", () => Post(_client, "/predict", Form(("image", "cut.png", png[..40]))), 400, "cut.png"),
            ("empty file", () => Post(_client, "/predict", Form(("image", "empty.jpg", []))), 400, "empty"),
            ("image too large", () => Post(_client, "/predict", Form(("image", "big.bmp", Bmp.Create(64, 64, (x, y) => (9, 9, 9))))), 400, "limit"),
            ("request too large", () => Post(_client, "/predict", Form(("image", "huge.bmp", new byte[RequestLimit + 10]))), 413, "larger than the limit"),
            ("raw body too large", () => Post(_client, "/predict", new ByteArrayContent(new byte[RequestLimit + 10])), 413, "larger than the limit"),
            ("wrong field", () => Post(_client, "/predict", Form(("file", "a.bmp", File.ReadAllBytes(good)))), 400, "'file'"),
            ("no body", () => Post(_client, "/predict", new ByteArrayContent([])), 400, "no image"),
            ("too many files", () => Post(_client, "/predict", Form(Enumerable.Range(0, 9).Select(i => ("image", $"{i}.bmp", File.ReadAllBytes(good))).ToArray())), 400, "at most 8"),
            ("GET on /predict", () => Send(_client, HttpMethod.Get, "/predict"), 405, "not allowed"),
            ("unknown path", () => Send(_client, HttpMethod.Get, "/nothing-here"), 404, "No endpoint"),
            ("k = 0", () => Post(_client, "/similar?k=0", Image(good)), 400, "k must be"),
            ("k = abc", () => Post(_client, "/similar?k=abc", Image(good)), 400, "k must be"),
            ("k > index", () => Post(_client, "/similar?k=25", Image(good)), 400, "1..24"),
            ("two images to /similar", () => Post(_client, "/similar", Form(("image", "1.bmp", File.ReadAllBytes(good)), ("image", "2.bmp", File.ReadAllBytes(good)))), 400, "one image"),
            ("image id out of range", () => Send(_client, HttpMethod.Get, "/images/24"), 404, "0..23"),
            ("negative image id", () => Send(_client, HttpMethod.Get, "/images/-1"), 404, "No indexed image"),
            ("path as image id", () => Send(_client, HttpMethod.Get, "/images/..%2F..%2Fetc%2Fpasswd"), 404, "No "),
            ("thumbnail size 5", () => Send(_client, HttpMethod.Get, "/images/0?size=5"), 400, "16..1024"),
        };
        foreach (var (name, send, expectedStatus, says) in cases)
        {
            var (status, json) = await send();
            Assert.True(status == expectedStatus, $"{name}: {status} {json}");
            Assert.Equal(expectedStatus, json.GetProperty("status").GetInt32());
            Assert.Contains(says, json.GetProperty("error").GetString(), StringComparison.Ordinal);
            var (after, _) = await Post(_client, "/predict", Image(good));
            Assert.True(after == 200, $"after '{name}' a good request got {after}");
        }
    }

    [Fact]
    public async Task Similar_returns_the_neighbours_of_the_file_based_search_and_serves_their_images()
    {
        var query = Directory.GetFiles(Path.Combine(fixture.KnnData, "b")).Order(StringComparer.Ordinal).First();
        var expected = SimilarImages.Find(fixture.KnnRun, query, k: 5);
        var (status, json) = await Post(_client, "/similar?k=5", Image(query));
        Assert.Equal(200, status);
        Assert.Equal(expected.PredictedLabel, json.GetProperty("label").GetString());
        var neighbors = json.GetProperty("neighbors").EnumerateArray().ToList();
        Assert.Equal(5, neighbors.Count);
        for (int i = 0; i < 5; i++)
        {
            var n = neighbors[i];
            Assert.Equal(i + 1, n.GetProperty("rank").GetInt32());
            Assert.Equal(expected.Neighbors[i].LabelName, n.GetProperty("label").GetString());
            Assert.Equal(expected.Neighbors[i].Distance, n.GetProperty("distance").GetSingle(), 3);
            Assert.Equal($"/images/{expected.Neighbors[i].ReferenceIndex}?size=192", n.GetProperty("thumbnail_url").GetString());
            string source = expected.Neighbors[i].SourceId!;
            Assert.Equal($"{Path.GetFileName(Path.GetDirectoryName(source))}/{Path.GetFileName(source)}", n.GetProperty("source").GetString());
        }

        // The original file, and a thumbnail (JPEG, longer side at most the size, never enlarged).
        using var image = await _client.GetAsync($"/images/{expected.Neighbors[0].ReferenceIndex}");
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/bmp", image.Content.Headers.ContentType?.MediaType);
        Assert.Equal(File.ReadAllBytes(expected.Neighbors[0].SourceId!), await image.Content.ReadAsByteArrayAsync());
        foreach (var (size, side) in new[] { (16, 16), (192, 32) })
        {
            using var thumbnail = await _client.GetAsync($"/images/{expected.Neighbors[0].ReferenceIndex}?size={size}");
            Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
            using var decoded = SkiaSharp.SKBitmap.Decode(await thumbnail.Content.ReadAsByteArrayAsync());
            Assert.Equal((side, side), (decoded.Width, decoded.Height)); // the generated images are 32 x 32
        }

        var (defaultStatus, defaultK) = await Post(_client, "/similar", Image(query));
        Assert.Equal(200, defaultStatus);
        Assert.Equal(8, defaultK.GetProperty("neighbors").GetArrayLength());
    }

    [Fact]
    public async Task Page_is_one_self_contained_html_file()
    {
        using var response = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        string html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"file\"", html, StringComparison.Ordinal);
        Assert.Contains("id=\"gallery\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script src", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Multiclass_model_gives_top_k_scores_and_similar_without_an_index_is_a_404()
    {
        var (app, client) = await StartTestServer(new ServingOptions { ModelPath = Path.Combine(fixture.KnnRun, "model.zip"), TopK = 2 });
        await using var _ = app;
        var query = Directory.GetFiles(Path.Combine(fixture.KnnData, "c")).Order(StringComparer.Ordinal).First();
        var (status, json) = await Post(client, "/predict", Image(query));
        Assert.Equal(200, status);
        var scores = json.GetProperty("scores").EnumerateObject().ToList();
        Assert.Equal(2, scores.Count);
        Assert.Equal(json.GetProperty("label").GetString(), scores[0].Name);
        Assert.True(scores[0].Value.GetSingle() >= scores[1].Value.GetSingle());
        Assert.Equal(SimilarImages.Find(fixture.KnnRun, query, 3).PredictedLabel, json.GetProperty("label").GetString());
        var (_, card) = await Send(client, HttpMethod.Get, "/model");
        Assert.Equal("m3-knn", card.GetProperty("kind").GetString());
        Assert.Equal(2, card.GetProperty("top_k").GetInt32());
        Assert.Equal(JsonValueKind.Null, card.GetProperty("index").ValueKind);

        var (similarStatus, similar) = await Post(client, "/similar", Image(query));
        Assert.Equal(404, similarStatus);
        Assert.Contains("--index", similar.GetProperty("error").GetString(), StringComparison.Ordinal);
        var (imageStatus, _) = await Send(client, HttpMethod.Get, "/images/0");
        Assert.Equal(404, imageStatus);
    }

    [Fact]
    public async Task An_m3_knn_run_serves_as_model_and_index_with_one_shared_scorer()
    {
        var (app, client) = await StartTestServer(new ServingOptions { ModelPath = fixture.KnnRun, IndexFolder = fixture.KnnRun });
        await using var _ = app;
        foreach (var cls in new[] { "a", "b", "c" })
        {
            var query = Directory.GetFiles(Path.Combine(fixture.KnnData, cls)).Order(StringComparer.Ordinal).Last();
            var (status, predicted) = await Post(client, "/predict", Image(query));
            var (similarStatus, similar) = await Post(client, "/similar?k=3", Image(query));
            Assert.Equal((200, 200), (status, similarStatus));
            Assert.Equal(predicted.GetProperty("label").GetString(), similar.GetProperty("label").GetString());
            Assert.Equal(predicted.GetProperty("probability").GetSingle(), similar.GetProperty("probability").GetSingle());
            Assert.Equal(SimilarImages.Find(fixture.KnnRun, query, 3).PredictedLabel, similar.GetProperty("label").GetString());
        }
    }

    [Theory]
    [InlineData(ScoringMode.Pool)]
    [InlineData(ScoringMode.Batch)]
    public async Task Concurrent_requests_get_the_same_answers_as_sequential_ones(ScoringMode mode)
    {
        var (app, client) = await StartTestServer(new ServingOptions { ModelPath = fixture.M1Run, IndexFolder = fixture.KnnRun, Scoring = mode });
        await using var _ = app;
        var files = Images("a").Take(4).Concat(Images("b").Take(4)).ToArray();
        var sequential = new List<string>();
        foreach (var f in files)
            sequential.Add((await Post(client, "/predict", Image(f))).Json.GetRawText());
        var knnQuery = Directory.GetFiles(Path.Combine(fixture.KnnData, "a")).Order(StringComparer.Ordinal).First();
        string similar = (await Post(client, "/similar?k=4", Image(knnQuery))).Json.GetRawText();

        var tasks = Enumerable.Range(0, 48).Select(i => Task.Run(async () =>
            i % 6 == 5
                ? (Expected: similar, Got: await Post(client, "/similar?k=4", Image(knnQuery)))
                : (Expected: sequential[i % files.Length], Got: await Post(client, "/predict", Image(files[i % files.Length]))))).ToList();
        foreach (var (expected, (status, json)) in await Task.WhenAll(tasks))
        {
            Assert.Equal(200, status);
            Assert.Equal(expected, json.GetRawText());
        }
        var (_, card) = await Send(client, HttpMethod.Get, "/model");
        Assert.Equal(mode.ToString().ToLowerInvariant(), card.GetProperty("scoring").GetString());
    }

    [Fact]
    public void Loading_a_model_that_is_not_there_or_not_an_mlpipelines_zip_fails_naming_it()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => ServedModel.Load(new ServingOptions { ModelPath = "/no/such/run" }));
        Assert.Contains("/no/such/run", missing.Message, StringComparison.Ordinal);
        var noIndex = Assert.Throws<FileNotFoundException>(() => ServedModel.Load(new ServingOptions { ModelPath = fixture.M1Run, IndexFolder = fixture.M1Run }));
        Assert.Contains(Milestone3Knn.IndexFileName, noIndex.Message, StringComparison.Ordinal);
        string scratch = fixture.Scratch("bad-zip");
        string fake = Path.Combine(scratch, "model.zip");
        File.WriteAllText(fake, "not a zip");
        var bad = Assert.Throws<InvalidDataException>(() => ServedModel.Load(new ServingOptions { ModelPath = fake }));
        Assert.Contains(fake, bad.Message, StringComparison.Ordinal);
    }

    private static ByteArrayContent Npy(NpyArray array)
    {
        using var stream = new MemoryStream();
        MLPipelines.IO.Npy.Write(stream, array);
        var content = new ByteArrayContent(stream.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    /// <summary>The grey levels of a generated (grey) 24-bit BMP, top row first.</summary>
    private static float[] GreyLevels(string bmp)
    {
        var bytes = File.ReadAllBytes(bmp);
        int width = BitConverter.ToInt32(bytes, 18), height = BitConverter.ToInt32(bytes, 22);
        int stride = (width * 3 + 3) & ~3;
        var result = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                result[y * width + x] = bytes[54 + (height - 1 - y) * stride + 3 * x];
        return result;
    }
}
