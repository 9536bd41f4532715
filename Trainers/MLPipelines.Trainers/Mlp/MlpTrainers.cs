using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLPipelines.Mlp;
using MLPipelines.Trainers.OnnxModel;

namespace MLPipelines.Trainers.Mlp;

/// <summary>
/// Shared part of the MLP trainers: reads the rows, trains with the pure-C# <see cref="MlpEngine"/>, and
/// compiles the network to ONNX wrapped in stock ML.NET transformers.
/// </summary>
public abstract class MlpTrainerBase : IEstimator<MlpModel>
{
    private readonly IHostEnvironment? _environment;

    private protected MlpTrainerBase(MlpOptions options, IHostEnvironment? environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        _environment = environment;
    }

    /// <summary>The trainer's own copy of the options it was created with.</summary>
    public MlpOptions Options { get; }

    /// <summary>Trains on <paramref name="input"/> (holding out <see cref="MlpOptions.ValidationFraction"/> when set).</summary>
    /// <param name="input">Training data with the label and feature columns.</param>
    public MlpModel Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="trainData"/>, reporting and early-stopping on <paramref name="validationData"/>.</summary>
    /// <param name="trainData">Training data with the label and feature columns.</param>
    /// <param name="validationData">Validation data with the same columns, transformed the same way; may be null.</param>
    public MlpModel Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        using var caller = new CallerEnvironment(_environment, GetType().Name, Options.CancellationToken);
        var seed = caller.Seed(Options.Seed, MlpTrainingSettings.Defaults.Seed);
        var ml = new MLContext(seed);
        var (train, validation, classes) = TrainingRows.Split(Read, trainData, validationData, Options.ValidationFraction, seed, Options.EarlyStoppingPatience);
        var trainSet = new MlpDataset(train.Features, train.Labels, train.Dimension);
        var validationSet = validation is null ? null : new MlpDataset(validation.Features, validation.Labels, validation.Dimension);

        var architecture = new MlpArchitecture
        {
            InputSize = train.Dimension,
            HiddenSizes = Options.HiddenLayers,
            HiddenActivation = Options.HiddenActivation,
            Output = OutputKind,
            ClassCount = classes.Count,
        };
        var settings = Options.Clone();
        ((MlpTrainingSettings)settings).Seed = seed;
        if (Options.RandomShift > 0)
        {
            // The shift becomes this run's augmenter (a fresh one: augmenters keep scratch buffers).
            var shape = TrainingRows.ImageShape(trainData.Schema, Options.FeatureColumnName, train.Dimension, Options.ImageShape, twoDimensionsAreGrey: true)
                ?? throw new ArgumentException(
                    $"RandomShift needs image-shaped features, but column '{Options.FeatureColumnName}' has no image dimensions; set ImageShape.",
                    nameof(MlpOptions.RandomShift));
            settings.Augmenter = new RandomShiftAugmenter(shape[0], shape[1], shape[2], Options.RandomShift);
            settings.RandomShift = 0;
        }
        else if (Options.UsesRandomAffine)
        {
            var shape = TrainingRows.ImageShape(trainData.Schema, Options.FeatureColumnName, train.Dimension, Options.ImageShape, twoDimensionsAreGrey: true)
                ?? throw new ArgumentException(
                    $"The random affine augmentation needs image-shaped features, but column '{Options.FeatureColumnName}' has no image dimensions; set ImageShape.",
                    nameof(MlpOptions.RandomRotation));
            settings.Augmenter = new RandomAffineAugmenter(shape[0], shape[1], shape[2], Options.RandomRotation,
                1 - Options.RandomZoom, 1 + Options.RandomZoom, Options.RandomTranslation);
            settings.RandomRotation = settings.RandomZoom = settings.RandomTranslation = 0;
        }
        caller.Info(FormattableString.Invariant($"training on {trainSet.Count} rows of {train.Dimension} features") +
            (validationSet is null ? "" : FormattableString.Invariant($", validating on {validationSet.Count}")) +
            FormattableString.Invariant($", hidden layers [{string.Join(", ", Options.HiddenLayers)}], {Options.Epochs} epochs, seed {seed}"));
        var result = new MlpEngine(architecture, settings).Train(trainSet, validationSet, caller.Epochs(Options.Progress, Options.Epochs), caller.Token);
        var compiled = Compile(ml, trainData, train.Dimension, (g, x) => MlpOnnxExporter.WriteLogits(g, result.Network, x));
        return new MlpModel(compiled.Chain, compiled.Onnx, result, classes);
    }

    /// <inheritdoc />
    public abstract SchemaShape GetOutputSchema(SchemaShape inputSchema);

    private protected abstract OutputKind OutputKind { get; }

    private protected abstract (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data);

    private protected abstract ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body);
}

/// <summary>
/// Binary classifier trained by the pure-C# MLP engine (sigmoid output, binary cross-entropy). Output columns
/// follow ML.NET's binary schema: Score (logit), Probability (sigmoid of Score) and PredictedLabel (Boolean).
/// </summary>
public sealed class MlpBinaryTrainer : MlpTrainerBase
{
    /// <summary>Creates the trainer; the options are validated here, naming the first invalid one.</summary>
    /// <param name="options">Network and training options.</param>
    public MlpBinaryTrainer(MlpOptions options) : base(options, null)
    {
    }

    /// <summary>
    /// Creates the trainer in <paramref name="context"/>: it logs to <c>context.Log</c>, draws the seed from the context
    /// when <see cref="MlpOptions.Seed"/> is null, and stops when the context's execution is cancelled.
    /// </summary>
    /// <param name="context">The caller's ML.NET context.</param>
    /// <param name="options">Network and training options.</param>
    public MlpBinaryTrainer(MLContext context, MlpOptions options) : base(options, context ?? throw new ArgumentNullException(nameof(context)))
    {
    }

    internal MlpBinaryTrainer(MlpOptions options, IHostEnvironment? environment) : base(options, environment)
    {
    }

    /// <inheritdoc />
    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => OutputShapes.Binary(inputSchema, Options.LabelColumnName, Options.FeatureColumnName);

    private protected override OutputKind OutputKind => OutputKind.SigmoidBinary;

    private protected override (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data)
        => (TrainingData.ReadBinary(data, Options.FeatureColumnName, Options.LabelColumnName), ["False", "True"]);

    private protected override ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body)
        => ClassifierCompiler.Binary(ml, data, Options.FeatureColumnName, dimension, body);
}

/// <summary>
/// Multiclass classifier trained by the pure-C# MLP engine (softmax output, cross-entropy). Output columns
/// follow ML.NET's multiclass schema: Score (class probabilities) and PredictedLabel (key, same key values
/// as the label, so <c>MapKeyToValue</c> returns the original labels).
/// </summary>
public sealed class MlpMulticlassTrainer : MlpTrainerBase
{
    /// <summary>Creates the trainer; the options are validated here, naming the first invalid one.</summary>
    /// <param name="options">Network and training options.</param>
    public MlpMulticlassTrainer(MlpMulticlassOptions options) : base(options, null)
    {
    }

    /// <summary>
    /// Creates the trainer in <paramref name="context"/>: it logs to <c>context.Log</c>, draws the seed from the context
    /// when <see cref="MlpOptions.Seed"/> is null, and stops when the context's execution is cancelled.
    /// </summary>
    /// <param name="context">The caller's ML.NET context.</param>
    /// <param name="options">Network and training options.</param>
    public MlpMulticlassTrainer(MLContext context, MlpMulticlassOptions options) : base(options, context ?? throw new ArgumentNullException(nameof(context)))
    {
    }

    internal MlpMulticlassTrainer(MlpMulticlassOptions options, IHostEnvironment? environment) : base(options, environment)
    {
    }

    /// <inheritdoc />
    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => OutputShapes.Multiclass(inputSchema, Options.LabelColumnName, Options.FeatureColumnName);

    private protected override OutputKind OutputKind => OutputKind.SoftmaxMulticlass;

    private protected override (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data)
    {
        var label = data.Schema.GetColumnOrNull(Options.LabelColumnName)
            ?? throw new ArgumentException($"Label column '{Options.LabelColumnName}' is not in the data.");
        var keys = LabelKeys.FromColumn(label);
        return (TrainingData.ReadMulticlass(data, Options.FeatureColumnName, Options.LabelColumnName, keys.Count), keys.Names);
    }

    private protected override ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body)
    {
        var label = data.Schema[Options.LabelColumnName];
        return ClassifierCompiler.Multiclass(ml, data, Options.FeatureColumnName, dimension, LabelKeys.FromColumn(label), body);
    }
}
