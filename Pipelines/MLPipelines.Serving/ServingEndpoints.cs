using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.ML.Data;

namespace MLPipelines.Serving;

/// <summary>One classification result (an element of the <c>/predict</c> answer).</summary>
/// <param name="File">The uploaded file's name (field file name, or "body").</param>
/// <param name="Row">Row of a .npy batch, or null.</param>
/// <param name="Label">Predicted class.</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Scores">Probability per class (the <see cref="ServingOptions.TopK"/> most probable, most probable first, for many classes).</param>
public sealed record PredictionBody(string File, int? Row, string Label, float Probability, IReadOnlyDictionary<string, float> Scores);

/// <summary>A per-file error inside a <c>/predict</c> answer for several files.</summary>
/// <param name="File">The file.</param>
/// <param name="Error">What was wrong.</param>
/// <param name="Status">The status this file alone would have got.</param>
public sealed record FileErrorBody(string File, string Error, int Status);

/// <summary>One neighbour of a <c>/similar</c> answer.</summary>
/// <param name="Rank">1 for the nearest.</param>
/// <param name="Label">Its class.</param>
/// <param name="Distance">Its distance to the query (the index's metric).</param>
/// <param name="Source">The indexed image (class folder and file name).</param>
/// <param name="ThumbnailUrl">Where the image is served: <c>/images/{id}</c>.</param>
public sealed record NeighborBody(int Rank, string Label, float Distance, string Source, string ThumbnailUrl);

/// <summary>The <c>/similar</c> answer.</summary>
/// <param name="Label">The index model's prediction for the query.</param>
/// <param name="Probability">Its vote share.</param>
/// <param name="Neighbors">The nearest indexed images, nearest first.</param>
public sealed record SimilarBody(string Label, float Probability, IReadOnlyList<NeighborBody> Neighbors);

/// <summary>The endpoints of <see cref="ServingHost"/>.</summary>
internal static class ServingEndpoints
{
    private static readonly Lazy<string> Page = new(() =>
    {
        using var stream = typeof(ServingEndpoints).Assembly.GetManifestResourceStream("MLPipelines.Serving.index.html")
            ?? throw new InvalidOperationException("The page resource is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static void Map(IEndpointRouteBuilder app, ServedModel model)
    {
        var json = ServingHost.JsonOptions;
        app.MapGet("/", () => Results.Content(Page.Value, "text/html; charset=utf-8"));
        app.MapGet("/healthz", () => Results.Json(new { status = "ok", model = Path.GetFileName(model.ModelPath) }, json));
        app.MapGet("/model", () => Results.Json(Card(model), json));
        // RequestDelegates (HttpContext -> Task) that write their JSON themselves.
        app.MapPost("/predict", async context => await context.Response.WriteAsJsonAsync(await Predict(context, model).ConfigureAwait(false), json).ConfigureAwait(false));
        app.MapPost("/similar", async context => await context.Response.WriteAsJsonAsync(await Similar(context, model).ConfigureAwait(false), json).ConfigureAwait(false));
        app.MapGet("/images/{id}", (string id, string? size) => Image(model, id, size));
    }

    private static object Card(ServedModel model) => new
    {
        kind = model.Card.Producer,
        task = model.Card.Task,
        classes = model.Card.Classes,
        image_size = model.Card.ImageSize,
        channels = model.Card.Channels,
        metrics = model.Metrics,
        mlnet_version = ServedModel.MLNetVersion,
        model_file = Path.GetFileName(model.ModelPath),
        scoring = model.Options.Scoring.ToString().ToLowerInvariant(),
        top_k = model.Card.Classes.Length > model.Options.TopK ? model.Options.TopK : model.Card.Classes.Length,
        limits = new { max_request_bytes = model.Options.MaxRequestBytes, max_image_pixels = model.Options.MaxImagePixels, max_items = model.Options.MaxItemsPerRequest },
        index = model.Index is { } index
            ? new { images = index.Count, dimension = index.Dimension, metric = index.Metric.ToString().ToLowerInvariant(), classes = index.ClassCount, max_k = Math.Min(model.Options.MaxNeighbors, index.Count) }
            : null,
    };

    private static async Task<object> Predict(HttpContext context, ServedModel model)
    {
        var uploads = await UploadReader.ReadAsync(context, model.Options).ConfigureAwait(false);
        var results = new List<object>();
        int scored = 0;
        long decodeTicks = 0, scoreTicks = 0;
        foreach (var upload in uploads)
        {
            try
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                var images = Decode(upload, model.Card, model.Options);
                decodeTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
                try
                {
                    scored += images.Count;
                    if (scored > model.Options.MaxItemsPerRequest)
                        throw new ServingException(400, $"The request holds more than {model.Options.MaxItemsPerRequest} images; that many are scored per request at most.");
                    for (int i = 0; i < images.Count; i++)
                    {
                        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                        var score = await model.Scorer.ScoreAsync(images[i], context.RequestAborted).ConfigureAwait(false);
                        scoreTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t1;
                        results.Add(ToBody(upload.Name, images.Count > 1 ? i : null, score, model));
                    }
                }
                finally
                {
                    foreach (var image in images)
                        image.Dispose();
                }
            }
            catch (ServingException e) when (uploads.Count > 1)
            {
                results.Add(new FileErrorBody(upload.Name, e.Message, e.Status));
            }
        }
        context.Response.Headers["Server-Timing"] = ServerTiming(decodeTicks, scoreTicks);
        return results.Count == 1 && uploads.Count == 1 ? results[0] : results;
    }

    private static async Task<SimilarBody> Similar(HttpContext context, ServedModel model)
    {
        if (model.Index is not { } index || model.IndexScorer is not { } scorer || model.IndexCard is not { } card)
            throw new ServingException(404, "No retrieval index is loaded; start the server with --index M3KNN_RUN_DIR.");
        int maxK = Math.Min(model.Options.MaxNeighbors, index.Count);
        int k = 8;
        if (context.Request.Query.TryGetValue("k", out var text)
            && (!int.TryParse(text.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out k) || k < 1 || k > maxK))
            throw new ServingException(400, $"k must be an integer in 1..{maxK}, got '{text}'.");
        k = Math.Min(k, maxK);
        var uploads = await UploadReader.ReadAsync(context, model.Options).ConfigureAwait(false);
        if (uploads.Count != 1)
            throw new ServingException(400, $"/similar takes one image; the request holds {uploads.Count} files.");
        var images = Decode(uploads[0], card, model.Options);
        try
        {
            if (images.Count != 1)
                throw new ServingException(400, $"/similar takes one image; '{uploads[0].Name}' holds {images.Count}.");
            var score = await scorer.ScoreAsync(images[0], context.RequestAborted).ConfigureAwait(false);
            var neighbors = index.Neighbors(score.Features, k);
            return new SimilarBody(card.Classes[score.Predicted], score.Probabilities[score.Predicted],
                neighbors.Select(n => new NeighborBody(n.Rank + 1, n.LabelName, n.Distance, ShortSource(n.SourceId), $"/images/{n.ReferenceIndex}?size={ThumbnailSize}")).ToList());
        }
        finally
        {
            foreach (var image in images)
                image.Dispose();
        }
    }

    /// <summary>A Server-Timing header value: time spent decoding uploads and scoring them (ms).</summary>
    private static string ServerTiming(long decodeTicks, long scoreTicks) => string.Create(CultureInfo.InvariantCulture,
        $"decode;dur={decodeTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency:F2}, score;dur={scoreTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency:F2}");

    /// <summary>Longest side of the gallery thumbnails that <c>thumbnail_url</c> asks for.</summary>
    public const int ThumbnailSize = 192;

    private static IResult Image(ServedModel model, string id, string? size)
    {
        if (model.Index is not { SourceIds: { } sources })
            throw new ServingException(404, "No retrieval index is loaded; /images serves the indexed images only.");
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i < 0 || i >= sources.Count)
            throw new ServingException(404, $"No indexed image '{id}'; ids are 0..{sources.Count - 1}.");
        string path = sources[i];
        if (!File.Exists(path))
            throw new ServingException(404, $"Indexed image {i} is no longer on the server's disk.");
        string type = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jpg" or ".jpeg" => "image/jpeg",
            ".png" => "image/png",
            ".bmp" => "image/bmp",
            ".webp" => "image/webp",
            ".gif" => "image/gif",
            _ => "application/octet-stream",
        };
        if (size is null)
            return Results.File(Path.GetFullPath(path), type, enableRangeProcessing: false);
        if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int side) || side is < 16 or > 1024)
            throw new ServingException(400, $"size must be an integer in 16..1024, got '{size}'.");
        return Results.Bytes(Thumbnail(path, side, i), "image/jpeg");
    }

    /// <summary>The image scaled down (never up) so that its longer side is at most <paramref name="side"/>, as JPEG.</summary>
    private static byte[] Thumbnail(string path, int side, int id)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(path)
            ?? throw new ServingException(404, $"Indexed image {id} cannot be decoded.");
        double scale = Math.Min(1.0, (double)side / Math.Max(bitmap.Width, bitmap.Height));
        int width = Math.Max(1, (int)Math.Round(bitmap.Width * scale)), height = Math.Max(1, (int)Math.Round(bitmap.Height * scale));
        using var resized = scale < 1 ? bitmap.Resize(new SkiaSharp.SKImageInfo(width, height), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKFilterMode.Linear, SkiaSharp.SKMipmapMode.Linear)) : bitmap.Copy();
        using var image = SkiaSharp.SKImage.FromBitmap(resized);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }

    private static List<MLImage> Decode(Upload upload, Pipelines.Models.ModelCard card, ServingOptions options)
    {
        if (UploadDecoder.IsNpy(upload.Bytes) || upload.Name.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            return UploadDecoder.DecodeNpy(upload.Bytes, upload.Name, card, options.MaxItemsPerRequest);
        return [UploadDecoder.DecodeImage(upload.Bytes, upload.Name, options.MaxImagePixels)];
    }

    private static PredictionBody ToBody(string file, int? row, ImageScore score, ServedModel model)
    {
        var classes = model.Card.Classes;
        var order = Enumerable.Range(0, classes.Length);
        if (classes.Length > model.Options.TopK)
            order = order.OrderByDescending(c => score.Probabilities[c]).ThenBy(c => c).Take(model.Options.TopK);
        var scores = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (int c in order)
            scores[classes[c]] = score.Probabilities[c];
        return new PredictionBody(file, row, classes[score.Predicted], score.Probabilities[score.Predicted], scores);
    }

    /// <summary>The class folder and file name of an indexed image (never the server's full path).</summary>
    private static string ShortSource(string? source)
    {
        if (string.IsNullOrEmpty(source))
            return "";
        string name = Path.GetFileName(source);
        string? folder = Path.GetFileName(Path.GetDirectoryName(source));
        return string.IsNullOrEmpty(folder) ? name : folder + "/" + name;
    }
}
