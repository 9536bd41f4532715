using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLPipelines.IO;
using MLPipelines.Trainers;

namespace MLPipelines.Pipelines.Models;

/// <summary>
/// A saved MLPipelines image classifier, reloaded: its class names, training history and network (ONNX) from the zip,
/// the preprocessing check, and predictions from image files, streams or in-memory <see cref="MLImage"/>s (no temp
/// files: the image goes straight into the chain after its image-loading step).
/// </summary>
/// <remarks>One instance scores on one thread at a time (ML.NET's prediction engines are not thread-safe); load one per thread.</remarks>
public sealed class MLPipelinesModel
{
    private readonly MLContext _ml;
    private readonly ITransformer _afterLoading;
    private readonly string _imageColumn;
    private readonly byte[]? _network;

    private MLPipelinesModel(string path, MLContext ml)
    {
        _ml = ml;
        Path = path;
        Card = ModelPackage.ReadCard(path);
        Transformer = ml.Model.Load(path, out var inputSchema);
        InputSchema = inputSchema ?? throw new InvalidDataException($"Model file '{path}' has no input schema.");
        var steps = ModelPackage.Flatten(Transformer).ToList();
        int load = steps.FindIndex(t => t is ImageLoadingTransformer);
        if (load < 0)
            throw new InvalidDataException($"Model file '{path}' has no image-loading step; it is not an image model.");
        var before = steps.Take(load + 1).Aggregate(InputSchema, (schema, t) => t.GetOutputSchema(schema));
        _imageColumn = before.LastOrDefault(c => !c.IsHidden && c.Type is ImageDataViewType && InputSchema.GetColumnOrNull(c.Name) is null).Name
            ?? throw new InvalidDataException($"Model file '{path}': its image-loading step adds no image column.");
        _afterLoading = new TransformerChain<ITransformer>(steps.Skip(load + 1).ToArray());
        _network = ModelPackage.ReadEntry(path, ModelPackage.NetworkEntry);
        Preprocessing = ModelPackage.VerifyPreprocessing(path, ml, Transformer, Card);
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>The model card: task, classes, image size, preprocessing fingerprint, history.</summary>
    public ModelCard Card { get; }

    /// <summary>Class names in label order (binary: index 1 is the positive class).</summary>
    public IReadOnlyList<string> Classes => Card.Classes;

    /// <summary>Per-epoch training history saved with the model (empty for zips saved before it was stored).</summary>
    public IReadOnlyList<EpochRecord> History => Card.History ?? [];

    /// <summary>The stock ML.NET chain (image path in, <c>Score</c>/<c>Probability</c>/<c>PredictedLabel</c> out).</summary>
    public ITransformer Transformer { get; }

    /// <summary>The schema of the rows the chain reads.</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>Whether this host preprocesses images as the training host did (see <see cref="ModelPackage.VerifyPreprocessing(string, MLContext?)"/>).</summary>
    public PreprocessingCheck Preprocessing { get; }

    /// <summary>The trained network as a standalone ONNX model (input: the flat pixel vector), or null for zips saved before it was stored.</summary>
    public byte[]? NetworkOnnx => _network is null ? null : (byte[])_network.Clone();

    /// <summary>Loads a model zip written by MLPipelines.</summary>
    /// <param name="path">The model zip.</param>
    /// <param name="ml">The context to load and score in; a new one when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The zip is not an MLPipelines image model (the message names it).</exception>
    public static MLPipelinesModel Load(string path, MLContext? ml = null) => new(path, ml ?? new MLContext(seed: 1));

    /// <summary>Writes the trained network as a standalone ONNX model.</summary>
    /// <param name="path">Destination .onnx file (written atomically).</param>
    /// <exception cref="InvalidOperationException">The zip holds no network (saved before networks were stored).</exception>
    public void SaveOnnx(string path) =>
        AtomicFile.WriteAllBytes(path, _network ?? throw new InvalidOperationException($"Model file '{Path}' holds no {ModelPackage.NetworkEntry}; re-save it with this release."));

    /// <summary>Classifies an in-memory image.</summary>
    /// <param name="image">The image (any size: the model's own resize runs).</param>
    public Prediction Predict(MLImage image) => Predict(image, "(image)");

    private Prediction Predict(MLImage image, string name)
    {
        ArgumentNullException.ThrowIfNull(image);
        // ML.NET's enumerable data views and prediction engines cannot carry an MLImage input; a one-row data view
        // of our own can, and the chain after the image-loading step reads it as if LoadImages had decoded it.
        return Read(_afterLoading.Transform(new OneImageView(_imageColumn, image)), name);
    }

    /// <summary>Classifies an encoded image (PNG, JPEG, BMP, ...) read from <paramref name="stream"/>.</summary>
    /// <param name="stream">The encoded image.</param>
    public Prediction Predict(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var image = MLImage.CreateFromStream(stream);
        return Predict(image, "(stream)");
    }

    /// <summary>Classifies an image file.</summary>
    /// <param name="imagePath">The image file.</param>
    public Prediction Predict(string imagePath)
    {
        if (!File.Exists(imagePath))
            throw new FileNotFoundException($"Image '{imagePath}' does not exist.", imagePath);
        using var image = MLImage.CreateFromFile(imagePath);
        return Predict(image, imagePath);
    }

    private Prediction Read(IDataView scored, string file)
    {
        var columns = new[] { scored.Schema[ColumnNames.PredictedLabel], scored.Schema[Card.IsBinary ? ColumnNames.Probability : ColumnNames.Score] };
        using var cursor = scored.GetRowCursor(columns);
        if (!cursor.MoveNext())
            throw new InvalidOperationException("The model produced no row.");
        if (Card.IsBinary)
        {
            bool predicted = false;
            float probability = 0;
            cursor.GetGetter<bool>(columns[0])(ref predicted);
            cursor.GetGetter<float>(columns[1])(ref probability);
            return new Prediction(file, null, Card.Classes[predicted ? 1 : 0], predicted ? probability : 1 - probability);
        }

        uint key = 0;
        VBuffer<float> score = default;
        cursor.GetGetter<uint>(columns[0])(ref key);
        cursor.GetGetter<VBuffer<float>>(columns[1])(ref score);
        int index = (int)key - 1;
        return new Prediction(file, null, Card.Classes[index], score.GetItemOrDefault(index));
    }

    /// <summary>A data view of one row holding one image.</summary>
    private sealed class OneImageView(string column, MLImage image) : IDataView
    {
        public bool CanShuffle => false;

        public DataViewSchema Schema { get; } = BuildSchema(column, image);

        public long? GetRowCount() => 1;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

        private static DataViewSchema BuildSchema(string column, MLImage image)
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumn(column, new ImageDataViewType(image.Height, image.Width));
            return builder.ToSchema();
        }

        private sealed class Cursor(OneImageView view) : DataViewRowCursor
        {
            private long _position = -1;

            public override DataViewSchema Schema => view.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => true;

            public override bool MoveNext() => ++_position == 0;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index != 0 || typeof(TValue) != typeof(MLImage))
                    throw new InvalidOperationException($"Column '{column.Name}' is the image column and holds an MLImage.");
                ValueGetter<MLImage> getter = (ref MLImage value) => value = view.ImageValue;
                return (ValueGetter<TValue>)(Delegate)getter;
            }
        }

        private MLImage ImageValue => image;
    }
}
