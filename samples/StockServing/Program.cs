// Serves a model zip written by MLPipelines (m1, m2, m3-cnn, m3-transfer, m3-knn) with stock ML.NET and ASP.NET Core:
//   dotnet run --project samples/StockServing -- runs/m1/model.zip http://127.0.0.1:5001
//   curl -F image=@digit.jpg http://127.0.0.1:5001/predict
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

string zipPath = args.Length > 0 ? args[0] : throw new ArgumentException("usage: StockServing MODEL.zip [URL]");
var ml = new MLContext(seed: 1);
ITransformer model = ml.Model.Load(zipPath, out DataViewSchema inputSchema);

// Class names and task: the JSON card MLPipelines stores in the zip (ML.NET's loader ignores that entry).
JsonElement card;
using (var zip = ZipFile.OpenRead(zipPath))
using (var entry = zip.GetEntry("MLPipelines/model-card.json")!.Open())
    card = JsonDocument.Parse(entry).RootElement.Clone();
string[] classes = card.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToArray();
bool binary = card.GetProperty("task").GetString() == "binary";

// The chain starts with LoadImages (file path -> image). Run the steps after it on the uploaded image, in memory.
var steps = Flatten(model).ToList();
int load = steps.FindIndex(t => t is ImageLoadingTransformer);
var before = new TransformerChain<ITransformer>(steps.Take(load).ToArray()).GetOutputSchema(inputSchema);
string imageColumn = steps[load].GetOutputSchema(before).First(c => c.Type is ImageDataViewType).Name;
var afterLoad = new TransformerChain<ITransformer>(steps.Skip(load + 1).ToArray());
var input = SchemaDefinition.Create(typeof(Upload));
input[0].ColumnName = imageColumn;
var output = SchemaDefinition.Create(typeof(Scores));
output.RemoveAll(c => binary ? c.ColumnName == "Score" : c.ColumnName != "Score");

// Prediction engines are not thread-safe: one per request, from a pool.
var engines = new ConcurrentBag<PredictionEngine<Upload, Scores>>();
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls(args.Length > 1 ? args[1] : "http://127.0.0.1:5001");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
app.MapPost("/predict", async (HttpRequest request) =>
{
    var file = request.HasFormContentType ? (await request.ReadFormAsync()).Files.GetFile("image") : null;
    if (file is null)
        return Results.BadRequest(new { error = "send a multipart field 'image'" });
    MLImage image;
    try { image = MLImage.CreateFromStream(file.OpenReadStream()); }
    catch (Exception e) { return Results.BadRequest(new { error = $"not a readable image: {e.Message}" }); }
    using (image)
    {
        if (!engines.TryTake(out var engine))
            engine = ml.Model.CreatePredictionEngine<Upload, Scores>(afterLoad, true, input, output);
        var s = engine.Predict(new Upload { Image = image });
        engines.Add(engine);
        float[] p = binary ? [1 - s.Probability, s.Probability] : s.Score;
        int best = Array.IndexOf(p, p.Max());
        return Results.Ok(new { label = classes[best], probability = p[best], scores = classes.Zip(p).ToDictionary(c => c.First, c => c.Second) });
    }
});
app.Run();

static IEnumerable<ITransformer> Flatten(ITransformer t) => t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

internal sealed class Upload
{
    [ImageType(1, 1)] // registers MLImage as a column type; the size is not checked by the resizing step that follows
    public MLImage? Image { get; set; }
}

internal sealed class Scores
{
    public float Probability { get; set; }

    public float[] Score { get; set; } = [];
}
