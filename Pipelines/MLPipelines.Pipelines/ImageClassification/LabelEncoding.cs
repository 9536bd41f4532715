using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Trainers;

namespace MLPipelines.Pipelines.ImageClassification;

/// <summary>
/// Turns labelled images into ML.NET rows the way every milestone model expects them: Boolean labels (true = class 1)
/// for two classes, key labels in class order otherwise (the key values are the class names, so
/// <c>MapKeyToValue</c> and the model card agree).
/// </summary>
internal sealed class LabelEncoding
{
    private readonly MLContext _ml;
    private readonly IReadOnlyList<string> _classes;
    private readonly HashSet<string> _known;
    private readonly ITransformer? _toKey;

    /// <summary>Creates the encoding of <paramref name="classes"/>.</summary>
    /// <param name="ml">The context.</param>
    /// <param name="classes">Class names in label order.</param>
    /// <param name="binary">Boolean labels instead of keys (two classes only).</param>
    public LabelEncoding(MLContext ml, IReadOnlyList<string> classes, bool binary)
    {
        if (binary && classes.Count != 2)
            throw new ArgumentException($"Binary labels need two classes, got {classes.Count}.", nameof(classes));
        _ml = ml;
        _classes = classes;
        _known = [.. classes];
        IsBinary = binary;
        if (!binary)
        {
            var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new TextLabel { Label = c }));
            _toKey = ml.Transforms.Conversion.MapValueToKey(ColumnNames.Label, keyData: keyData)
                .Fit(ml.Data.LoadFromEnumerable(Array.Empty<TextLabel>()));
        }
    }

    /// <summary>Gets a value indicating whether labels are Boolean.</summary>
    public bool IsBinary { get; }

    /// <summary>Rows (ImagePath, Label) for <paramref name="items"/>.</summary>
    /// <param name="items">Images with labels among the classes.</param>
    /// <exception cref="InvalidDataException">An image's label is not one of the classes (the message names the image).</exception>
    public IDataView ToDataView(IReadOnlyList<ImageItem> items)
    {
        foreach (var item in items)
        {
            if (!_known.Contains(item.Label))
                throw new InvalidDataException($"Image '{item.Path}' has label '{item.Label}', which is not one of the classes ({string.Join(", ", _classes)}).");
        }
        if (IsBinary)
            return _ml.Data.LoadFromEnumerable(items.Select(i => new BinaryRow { ImagePath = i.Path, Label = i.Label == _classes[1] }).ToList());
        return ToKey(_ml.Data.LoadFromEnumerable(items.Select(i => new TextRow { ImagePath = i.Path, Label = i.Label }).ToList()));
    }

    /// <summary>Maps the text Label column of <paramref name="view"/> to the class keys (multiclass only).</summary>
    /// <param name="view">Rows with a text Label column.</param>
    public IDataView ToKey(IDataView view) =>
        (_toKey ?? throw new InvalidOperationException("Binary labels have no key mapping.")).Transform(view);

    private sealed class TextLabel
    {
        public string Label { get; set; } = "";
    }

    private sealed class TextRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    private sealed class BinaryRow
    {
        public string ImagePath { get; set; } = "";

        public bool Label { get; set; }
    }
}
