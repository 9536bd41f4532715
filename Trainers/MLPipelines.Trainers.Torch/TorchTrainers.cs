using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLPipelines.Onnx;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers.OnnxModel;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Trainers.Torch;

/// <summary>
/// Shared part of the TorchSharp trainers: reads the rows, trains the module with <see cref="TorchClassifierTrainer"/>,
/// then compiles the trained module (eval mode) to ONNX wrapped in stock ML.NET transformers.
/// </summary>
public abstract class TorchTrainerBase : IEstimator<TorchModel>
{
    private readonly Func<nn.Module<Tensor, Tensor>> _moduleFactory;

    private readonly IHostEnvironment? _environment;

    private protected TorchTrainerBase(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options, IHostEnvironment? environment)
    {
        _environment = environment;
        ArgumentNullException.ThrowIfNull(moduleFactory);
        var copy = (options ?? new TorchTrainerOptions()).Clone();
        copy.Validate();
        _moduleFactory = moduleFactory;
        Options = copy;
    }

    /// <summary>The options this trainer was created with (a copy).</summary>
    public TorchTrainerOptions Options { get; }

    /// <summary>Trains on <paramref name="input"/>, holding out <see cref="TorchTrainerOptions.ValidationFraction"/> for validation when set.</summary>
    /// <param name="input">Training data with the label and feature columns.</param>
    public TorchModel Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="trainData"/>, reporting and early-stopping on <paramref name="validationData"/>.</summary>
    /// <param name="trainData">Training data with the label and feature columns.</param>
    /// <param name="validationData">Validation data with the same columns, transformed the same way; may be null.</param>
    public TorchModel Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        using var caller = new CallerEnvironment(_environment, GetType().Name, Options.CancellationToken);
        var seed = caller.Seed(Options.Seed, TorchTrainingSettings.Defaults.Seed);
        // The engine's settings: this run's seed, cancellation, and progress/log that also reach the caller's ml.Log.
        var o = Options.Clone();
        ((TorchTrainingSettings)o).Seed = seed;
        o.Progress = caller.Epochs(Options.Progress, Options.Epochs);
        o.Log = caller.Messages(Options.Log);
        var (train, validation, classes) = TrainingRows.Split(Read, trainData, validationData, o.ValidationFraction, seed, o.EarlyStoppingPatience);
        var imageShape = TrainingRows.ImageShape(trainData.Schema, o.FeatureColumnName, train.Dimension, o.ImageShape, twoDimensionsAreGrey: false);
        var trainSet = ToDataset(train, imageShape);
        var validationSet = validation is null ? null : ToDataset(validation, imageShape);
        ReleaseReadGarbage(train, validation);

        if (o.TestTimeHorizontalFlip && imageShape is null)
            throw new ArgumentException(
                "TestTimeHorizontalFlip needs image rows: set ImageShape [C, H, W] or use a feature column with three dimensions.",
                nameof(TorchTrainerOptions.TestTimeHorizontalFlip));
        var engine = new TorchClassifierTrainer(_moduleFactory, o);
        var result = engine.Train(trainSet, validationSet, caller.Token, classCount: classes.Count);
        try
        {
            var ml = new MLContext(seed);
            var module = result.Module;
            module.eval();
            var compiled = Compile(ml, trainData, trainSet.FeatureCount, (g, x) =>
            {
                var input = x;
                if (imageShape is { } s)
                {
                    var shape = g.AddInitializer(g.UniqueName("nchw_shape"), [-1L, s[0], s[1], s[2]], 4);
                    input = g.AddNode("Reshape", [x, shape], g.UniqueName("to_nchw"));
                }
                var logits = o.TestTimeHorizontalFlip
                    ? WriteFlipAveraged(g, module, input, classes.Count)
                    : TorchOnnxExporter.WriteModule(g, module, input, "net");
                return Head(g, logits);
            });
            return new TorchModel(compiled.Chain, compiled.Onnx, result, classes, imageShape);
        }
        catch
        {
            result.Module.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public abstract SchemaShape GetOutputSchema(SchemaShape inputSchema);

    /// <summary>
    /// Decoding images leaves one large buffer per row behind on the managed heap; when the rows are large (above 64 M
    /// values) a compacting collection returns that memory before the network claims its own, so a 224-px run peaks once.
    /// </summary>
    private static void ReleaseReadGarbage(TrainingData train, TrainingData? validation)
    {
        long values = (long)train.Dimension * (train.Labels.Length + (validation?.Labels.Length ?? 0));
        if (values <= 64L << 20)
            return;
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private static TorchDataset ToDataset(TrainingData rows, int[]? imageShape) => rows.Codes is { } codes
        ? new TorchDataset(codes, rows.Levels!, rows.Labels, rows.Dimension, imageShape)
        : new TorchDataset(rows.Features, rows.Labels, rows.Dimension, imageShape);

    /// <summary>
    /// Writes logits = (net(x) + net(flip(x))) / 2 for an NCHW input, as one batch of 2N images: Slice with step -1
    /// along the width, Concat on the batch axis, the network once, then the mean of the two halves.
    /// </summary>
    private static string WriteFlipAveraged(OnnxGraphBuilder g, nn.Module<Tensor, Tensor> module, string nchw, int classes)
    {
        var starts = g.AddInitializer(g.UniqueName("flip_starts"), [-1L], 1);
        var ends = g.AddInitializer(g.UniqueName("flip_ends"), [long.MinValue], 1);
        var axes = g.AddInitializer(g.UniqueName("flip_axes"), [3L], 1);
        var steps = g.AddInitializer(g.UniqueName("flip_steps"), [-1L], 1);
        var mirrored = g.AddNode("Slice", [nchw, starts, ends, axes, steps], g.UniqueName("tta_mirrored"));
        var both = g.AddNode("Concat", [nchw, mirrored], g.UniqueName("tta_batch"), OnnxAttribute.Int("axis", 0));
        var logits = TorchOnnxExporter.WriteModule(g, module, both, "net");
        var halves = g.AddInitializer(g.UniqueName("tta_halves_shape"), [2L, -1L, classes], 3);
        var split = g.AddNode("Reshape", [logits, halves], g.UniqueName("tta_halves"));
        return g.AddNode("ReduceMean", [split], g.UniqueName("tta_logits"), OnnxAttribute.Ints("axes", 0), OnnxAttribute.Int("keepdims", 0));
    }

    private protected abstract (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data);

    /// <summary>Turns the module's logits [N, K] into what the compiler expects.</summary>
    private protected abstract string Head(OnnxGraphBuilder graph, string logits);

    private protected abstract ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body);
}

/// <summary>
/// Binary classifier that trains a TorchSharp module returning 2 logits [B, 2] (class 0 = false, class 1 = true)
/// with softmax cross-entropy. The compiled model's Score is the binary logit z1 - z0 and its Probability
/// sigmoid(z1 - z0), which equals softmax(z)[1]; PredictedLabel is Score &gt; 0. Output columns follow ML.NET's
/// binary schema (Score, Probability, PredictedLabel).
/// </summary>
public sealed class TorchBinaryTrainer : TorchTrainerBase
{
    /// <summary>Creates the trainer; the options are validated here, naming the first invalid one.</summary>
    /// <param name="moduleFactory">Creates the untrained module (2 output logits).</param>
    /// <param name="options">Options; null for the defaults.</param>
    public TorchBinaryTrainer(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null) : base(moduleFactory, options, null)
    {
    }

    /// <summary>
    /// Creates the trainer in <paramref name="context"/>: it logs to <c>context.Log</c>, draws the seed from the context
    /// when <see cref="TorchTrainerOptions.Seed"/> is null, and stops when the context's execution is cancelled.
    /// </summary>
    /// <param name="context">The caller's ML.NET context.</param>
    /// <param name="moduleFactory">Creates the untrained module.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public TorchBinaryTrainer(MLContext context, Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null)
        : base(moduleFactory, options, context ?? throw new ArgumentNullException(nameof(context)))
    {
    }

    internal TorchBinaryTrainer(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options, IHostEnvironment? environment)
        : base(moduleFactory, options, environment)
    {
    }

    /// <inheritdoc />
    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => OutputShapes.Binary(inputSchema, Options.LabelColumnName, Options.FeatureColumnName);

    private protected override (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data)
        => (TrainingData.ReadBinary(data, Options.FeatureColumnName, Options.LabelColumnName, codes: true), ["False", "True"]);

    private protected override string Head(OnnxGraphBuilder graph, string logits)
    {
        var one = graph.AddInitializer(graph.UniqueName("class1_index"), [1L], 1);
        var zero = graph.AddInitializer(graph.UniqueName("class0_index"), [0L], 1);
        var z1 = graph.AddNode("Gather", [logits, one], graph.UniqueName("z1"), OnnxAttribute.Int("axis", 1));
        var z0 = graph.AddNode("Gather", [logits, zero], graph.UniqueName("z0"), OnnxAttribute.Int("axis", 1));
        return graph.AddNode("Sub", [z1, z0], graph.UniqueName("binary_logit"));
    }

    private protected override ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body)
        => ClassifierCompiler.Binary(ml, data, Options.FeatureColumnName, dimension, body);
}

/// <summary>
/// Multiclass classifier that trains a TorchSharp module returning K logits [B, K] in the label's key order, with
/// softmax cross-entropy. Output columns follow ML.NET's multiclass schema: Score (class probabilities) and
/// PredictedLabel (key with the label's key values).
/// </summary>
public sealed class TorchMulticlassTrainer : TorchTrainerBase
{
    /// <summary>Creates the trainer; the options are validated here, naming the first invalid one.</summary>
    /// <param name="moduleFactory">Creates the untrained module (K output logits, K = the label's key count).</param>
    /// <param name="options">Options; null for the defaults.</param>
    public TorchMulticlassTrainer(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null) : base(moduleFactory, options, null)
    {
    }

    /// <summary>
    /// Creates the trainer in <paramref name="context"/>: it logs to <c>context.Log</c>, draws the seed from the context
    /// when <see cref="TorchTrainerOptions.Seed"/> is null, and stops when the context's execution is cancelled.
    /// </summary>
    /// <param name="context">The caller's ML.NET context.</param>
    /// <param name="moduleFactory">Creates the untrained module.</param>
    /// <param name="options">Options; null for the defaults.</param>
    public TorchMulticlassTrainer(MLContext context, Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options = null)
        : base(moduleFactory, options, context ?? throw new ArgumentNullException(nameof(context)))
    {
    }

    internal TorchMulticlassTrainer(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainerOptions? options, IHostEnvironment? environment)
        : base(moduleFactory, options, environment)
    {
    }

    /// <inheritdoc />
    public override SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => OutputShapes.Multiclass(inputSchema, Options.LabelColumnName, Options.FeatureColumnName);

    private protected override (TrainingData Data, IReadOnlyList<string> Classes) Read(IDataView data)
    {
        var label = data.Schema.GetColumnOrNull(Options.LabelColumnName)
            ?? throw new ArgumentException($"Label column '{Options.LabelColumnName}' is not in the data.");
        var keys = LabelKeys.FromColumn(label);
        return (TrainingData.ReadMulticlass(data, Options.FeatureColumnName, Options.LabelColumnName, keys.Count, codes: true), keys.Names);
    }

    private protected override string Head(OnnxGraphBuilder graph, string logits) => logits;

    private protected override ClassifierCompiler.Compiled Compile(MLContext ml, IDataView data, int dimension, ClassifierCompiler.BodyWriter body)
    {
        var label = data.Schema[Options.LabelColumnName];
        return ClassifierCompiler.Multiclass(ml, data, Options.FeatureColumnName, dimension, LabelKeys.FromColumn(label), body);
    }
}
