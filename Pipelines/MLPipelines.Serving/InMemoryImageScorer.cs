using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLPipelines.Pipelines.Models;
using MLPipelines.Trainers;

namespace MLPipelines.Serving;

/// <summary>The scores of one image.</summary>
/// <param name="Probabilities">Probability per class, in the model card's class order.</param>
/// <param name="Predicted">Index of the predicted class.</param>
/// <param name="Features">The chain's <c>Features</c> column (e.g. an m3-knn model's embedding), when asked for.</param>
internal sealed record ImageScore(float[] Probabilities, int Predicted, float[]? Features);

/// <summary>
/// Scores decoded images in memory with a saved MLPipelines model zip: every image chain this project writes starts
/// with ML.NET's <c>LoadImages</c> (path → image, see <c>ImagePreprocessing</c>), so the scorer runs the saved chain
/// minus that step on an in-memory data view whose image column takes its place. No file is written. The one place
/// that knows this trick (an MLImage-input API in the library can later replace it).
/// Thread-safe: <see cref="ScoringMode.Pool"/> gives each call its own prediction engine from a pool;
/// <see cref="ScoringMode.Batch"/> queues concurrent calls and scores them together on one worker.
/// </summary>
internal sealed class InMemoryImageScorer : IDisposable
{
    private const int MaxBatch = 16;
    private readonly MLContext _ml = new(seed: 1);
    private readonly ITransformer _afterLoad;
    private readonly SchemaDefinition _input;
    private readonly SchemaDefinition _output;
    private readonly bool _binary;
    private readonly bool _withFeatures;
    private readonly int _classes;
    private readonly ConcurrentBag<PredictionEngine<InputRow, OutputRow>> _engines = [];
    private readonly Lock _createLock = new();
    private readonly Channel<Pending>? _queue;
    private readonly Task? _worker;

    private InMemoryImageScorer(string modelPath, ModelCard card, bool withFeatures, ScoringMode mode)
    {
        var model = _ml.Model.Load(modelPath, out var inputSchema);
        var flat = Flatten(model).ToList();
        int load = flat.FindIndex(t => t is ImageLoadingTransformer);
        if (load < 0)
            throw new InvalidDataException($"Model file '{modelPath}' has no LoadImages step; it is not an image model written by MLPipelines.");
        // The image column LoadImages writes (its column list is not public): the image-typed column of its output
        // schema, fed by the steps before it.
        var before = new TransformerChain<ITransformer>(flat.Take(load).ToArray());
        var loadedSchema = flat[load].GetOutputSchema(before.GetOutputSchema(inputSchema ?? throw new InvalidDataException($"Model file '{modelPath}' has no input schema.")));
        var images = loadedSchema.Where(c => !c.IsHidden && c.Type is ImageDataViewType).Select(c => c.Name).ToList();
        if (images.Count != 1)
            throw new InvalidDataException($"Model file '{modelPath}': its LoadImages step writes {images.Count} image columns; one was expected.");
        ImageColumn = images[0];
        _afterLoad = new TransformerChain<ITransformer>(flat.Skip(load + 1).ToArray());

        _input = SchemaDefinition.Create(typeof(InputRow));
        var imageColumn = _input[nameof(InputRow.Image)];
        var pathColumn = _input[nameof(InputRow.ImagePath)];
        imageColumn.ColumnName = ImageColumn;
        // The type stays the one [ImageType(1, 1)] registered: ML.NET only builds getters for registered types; the
        // declared size is not checked by the resizing step that follows.
        pathColumn.ColumnName = card.ImagePathColumn;

        _binary = card.IsBinary;
        _withFeatures = withFeatures;
        _classes = card.Classes.Length;
        var probe = _ml.Data.LoadFromEnumerable(Array.Empty<InputRow>(), _input);
        var schema = _afterLoad.GetOutputSchema(probe.Schema);
        _output = SchemaDefinition.Create(typeof(OutputRow));
        var keep = _binary ? new[] { nameof(OutputRow.PredictedLabel), nameof(OutputRow.Probability) } : [nameof(OutputRow.Score)];
        if (withFeatures)
            keep = [.. keep, nameof(OutputRow.Features)];
        _output.RemoveAll(c => !keep.Contains(c.MemberName));
        foreach (var column in _output)
        {
            var found = schema.GetColumnOrNull(column.ColumnName)
                ?? throw new InvalidDataException($"Model file '{modelPath}' has no '{column.ColumnName}' output column.");
            column.ColumnType = found.Type;
        }
        if (!_binary && schema[ColumnNames.Score].Type is VectorDataViewType { Size: var size } && size != _classes)
            throw new InvalidDataException($"Model file '{modelPath}' scores {size} classes but its model card names {_classes}.");

        Mode = mode;
        if (mode == ScoringMode.Batch)
        {
            _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
            _worker = Task.Run(BatchLoop);
        }
        else
        {
            _engines.Add(CreateEngine()); // the first one now, so a broken chain fails at start-up, not on a request
        }
    }

    /// <summary>The column that the saved chain's LoadImages step wrote and that the in-memory image replaces.</summary>
    public string ImageColumn { get; }

    /// <summary>How concurrent calls share the model.</summary>
    public ScoringMode Mode { get; }

    /// <summary>Prediction engines created so far (pool mode).</summary>
    public int EnginesCreated { get; private set; }

    /// <summary>Loads the chain of <paramref name="modelPath"/> for in-memory scoring.</summary>
    /// <param name="modelPath">The model zip.</param>
    /// <param name="card">Its model card.</param>
    /// <param name="withFeatures">Also return the <c>Features</c> column (embeddings for retrieval).</param>
    /// <param name="mode">How concurrent calls share the model.</param>
    public static InMemoryImageScorer Load(string modelPath, ModelCard card, bool withFeatures, ScoringMode mode) =>
        new(modelPath, card, withFeatures, mode);

    /// <summary>Scores one image; the caller keeps ownership of <paramref name="image"/>.</summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="cancellationToken">Cancels waiting for a batch.</param>
    public Task<ImageScore> ScoreAsync(MLImage image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (_queue is null)
            return Task.FromResult(ScoreWithPool(image));
        var pending = new Pending(image, new TaskCompletionSource<ImageScore>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            throw new ObjectDisposedException(nameof(InMemoryImageScorer));
        return pending.Result.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _queue?.Writer.TryComplete();
        _worker?.Wait(TimeSpan.FromSeconds(10));
        while (_engines.TryTake(out var engine))
            engine.Dispose();
    }

    private ImageScore ScoreWithPool(MLImage image)
    {
        if (!_engines.TryTake(out var engine))
            engine = CreateEngine();
        try
        {
            return ToScore(engine.Predict(new InputRow { Image = image }));
        }
        finally
        {
            _engines.Add(engine);
        }
    }

    private PredictionEngine<InputRow, OutputRow> CreateEngine()
    {
        lock (_createLock)
        {
            EnginesCreated++;
            return _ml.Model.CreatePredictionEngine<InputRow, OutputRow>(_afterLoad, ignoreMissingColumns: true, _input, _output);
        }
    }

    private ImageScore ToScore(OutputRow row)
    {
        if (_binary)
        {
            float p = row.Probability;
            return new ImageScore([1 - p, p], row.PredictedLabel ? 1 : 0, _withFeatures ? row.Features : null);
        }
        var scores = row.Score;
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return new ImageScore(scores, best, _withFeatures ? row.Features : null);
    }

    private async Task BatchLoop()
    {
        var reader = _queue!.Reader;
        var batch = new List<Pending>(MaxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var item))
                batch.Add(item);
            try
            {
                var scores = ScoreBatch(batch);
                for (int i = 0; i < batch.Count; i++)
                    batch[i].Result.TrySetResult(scores[i]);
            }
            catch (Exception e)
            {
                foreach (var item in batch)
                    item.Result.TrySetException(e);
            }
        }
    }

    private List<ImageScore> ScoreBatch(List<Pending> batch)
    {
        var data = _ml.Data.LoadFromEnumerable(batch.Select(p => new InputRow { Image = p.Image }).ToList(), _input);
        var scored = _afterLoad.Transform(data);
        var result = new List<ImageScore>(batch.Count);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var features = _withFeatures ? cursor.GetGetter<VBuffer<float>>(scored.Schema[ColumnNames.Features]) : null;
        VBuffer<float> f = default;
        if (_binary)
        {
            var predicted = cursor.GetGetter<bool>(scored.Schema[ColumnNames.PredictedLabel]);
            var probability = cursor.GetGetter<float>(scored.Schema[ColumnNames.Probability]);
            bool label = false;
            float p = 0;
            while (cursor.MoveNext())
            {
                predicted(ref label);
                probability(ref p);
                features?.Invoke(ref f);
                result.Add(ToScore(new OutputRow { PredictedLabel = label, Probability = p, Features = features is null ? [] : f.DenseValues().ToArray() }));
            }
        }
        else
        {
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema[ColumnNames.Score]);
            VBuffer<float> s = default;
            while (cursor.MoveNext())
            {
                score(ref s);
                features?.Invoke(ref f);
                result.Add(ToScore(new OutputRow { Score = s.DenseValues().ToArray(), Features = features is null ? [] : f.DenseValues().ToArray() }));
            }
        }
        if (result.Count != batch.Count)
            throw new InvalidOperationException($"ML.NET returned {result.Count} rows for {batch.Count} images.");
        return result;
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [transformer];

    private sealed record Pending(MLImage Image, TaskCompletionSource<ImageScore> Result);

    /// <summary>The in-memory input row: the decoded image (in place of LoadImages' output) and an empty path column.</summary>
    private sealed class InputRow
    {
        [ImageType(1, 1)] // registers MLImage with ML.NET (the parameterless attribute throws); the schema definition sets the real type
        public MLImage? Image { get; set; }

        public string ImagePath { get; set; } = "";
    }

    /// <summary>The outputs read; the schema definition keeps only those the model's task has.</summary>
    private sealed class OutputRow
    {
        public bool PredictedLabel { get; set; }

        public float Probability { get; set; }

        public float[] Score { get; set; } = [];

        public float[] Features { get; set; } = [];
    }
}
