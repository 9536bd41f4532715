using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLPipelines.Mlp;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Mlp;

namespace MLPipelines.Tests.Trainers;

/// <summary>
/// The ML.NET MLP trainers: each estimator's round trip (fit, output schema, save zip, reload, same
/// predictions), ONNX output against the C# engine's forward pass, evaluators, and input errors.
/// </summary>
public sealed class MlpTrainerTests : IDisposable
{
    private const int Dimension = 12;
    private readonly string _folder = Directory.CreateTempSubdirectory("mlpipelines-trainer-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Binary_round_trip_matches_engine_and_stock_schema()
    {
        var ml = new MLContext(seed: 1);
        var data = Blobs(ml, classes: 2, perClass: 80, seed: 3, binary: true);
        var trainer = ml.BinaryClassification.Trainers.Mlp(hiddenLayers: [8], epochs: 15, learningRate: 0.1);

        var model = trainer.Fit(data);
        var scored = model.Transform(data);
        Assert.Equal(NumberDataViewType.Single, scored.Schema[ColumnNames.Score].Type);
        Assert.Equal(NumberDataViewType.Single, scored.Schema[ColumnNames.Probability].Type);
        Assert.Equal(BooleanDataViewType.Instance, scored.Schema[ColumnNames.PredictedLabel].Type);
        Assert.Null(scored.Schema.GetColumnOrNull("__mlpipelines_logit"));

        // ONNX (through ML.NET) vs the engine's forward pass, row by row.
        var features = data.GetColumn<float[]>(ColumnNames.Features).ToArray();
        var probability = scored.GetColumn<float>(ColumnNames.Probability).ToArray();
        var score = scored.GetColumn<float>(ColumnNames.Score).ToArray();
        var predicted = scored.GetColumn<bool>(ColumnNames.PredictedLabel).ToArray();
        var expected = new float[1];
        var logit = new float[1];
        for (var i = 0; i < features.Length; i++)
        {
            model.Network.PredictProbabilities(features[i], expected);
            model.Network.PredictLogits(features[i], logit);
            Assert.True(Math.Abs(expected[0] - probability[i]) < 1e-5, $"row {i}: engine {expected[0]} vs ML.NET {probability[i]}");
            Assert.True(Math.Abs(logit[0] - score[i]) <= 1e-5 * Math.Max(1, Math.Abs(logit[0])), $"row {i}: logit {logit[0]} vs Score {score[i]}");
            Assert.Equal(score[i] > 0, predicted[i]);
        }

        var metrics = ml.BinaryClassification.Evaluate(scored);
        Assert.True(metrics.Accuracy > 0.9, $"accuracy {metrics.Accuracy}");

        var reloaded = SaveAndLoad(ml, model, data.Schema);
        var again = reloaded.Transform(data);
        Assert.Equal(probability, again.GetColumn<float>(ColumnNames.Probability).ToArray());
        Assert.Equal(predicted, again.GetColumn<bool>(ColumnNames.PredictedLabel).ToArray());
        Assert.Equal(metrics.Accuracy, ml.BinaryClassification.Evaluate(again).Accuracy);
    }

    [Fact]
    public void Multiclass_round_trip_keeps_label_key_order_and_matches_engine()
    {
        var ml = new MLContext(seed: 1);
        // Deliberately unsorted class names: keys follow first occurrence (zeta, alpha, mid).
        string[] names = ["zeta", "alpha", "mid"];
        var raw = Blobs(ml, classes: 3, perClass: 60, seed: 5, binary: false, names: names);
        var pipeline = ml.Transforms.Conversion.MapValueToKey(ColumnNames.Label)
            .Append(ml.MulticlassClassification.Trainers.Mlp(hiddenLayers: [16], epochs: 25, learningRate: 0.01));

        var model = pipeline.Fit(raw);
        var scored = model.Transform(raw);
        var scoreType = Assert.IsType<VectorDataViewType>(scored.Schema[ColumnNames.Score].Type);
        Assert.Equal(3, scoreType.Size);
        Assert.IsType<KeyDataViewType>(scored.Schema[ColumnNames.PredictedLabel].Type);

        var mlp = model.LastTransformer;
        Assert.Equal(names, mlp.Classes);
        var features = raw.GetColumn<float[]>(ColumnNames.Features).ToArray();
        var scores = scored.GetColumn<float[]>(ColumnNames.Score).ToArray();
        var keys = scored.GetColumn<uint>(ColumnNames.PredictedLabel).ToArray();
        var expected = new float[3];
        for (var i = 0; i < features.Length; i++)
        {
            mlp.Network.PredictProbabilities(features[i], expected);
            for (var k = 0; k < 3; k++)
                Assert.True(Math.Abs(expected[k] - scores[i][k]) < 1e-5, $"row {i} class {k}: engine {expected[k]} vs ONNX {scores[i][k]}");
            Assert.Equal(Array.IndexOf(scores[i], scores[i].Max()) + 1, (int)keys[i]);
        }

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy > 0.9, $"accuracy {metrics.MicroAccuracy}");

        // PredictedLabel maps back to the original label values, before and after a zip round trip.
        var back = ml.Transforms.Conversion.MapKeyToValue("PredictedText", ColumnNames.PredictedLabel);
        var truth = raw.GetColumn<string>(ColumnNames.Label).ToArray();
        var text = back.Fit(scored).Transform(scored).GetColumn<string>("PredictedText").ToArray();
        Assert.Equal(metrics.MicroAccuracy, truth.Zip(text).Count(p => p.First == p.Second) / (double)truth.Length, 9);

        var reloaded = SaveAndLoad(ml, model, raw.Schema);
        var again = reloaded.Transform(raw);
        Assert.Equal(scores, again.GetColumn<float[]>(ColumnNames.Score).ToArray());
        Assert.Equal(text, back.Fit(again).Transform(again).GetColumn<string>("PredictedText").ToArray());
        Assert.Equal(metrics.MicroAccuracy, ml.MulticlassClassification.Evaluate(again).MicroAccuracy);
    }

    [Fact]
    public void Standalone_onnx_export_runs_in_onnx_runtime_like_the_engine()
    {
        var ml = new MLContext(seed: 1);
        var data = Blobs(ml, classes: 2, perClass: 40, seed: 8, binary: true);
        var model = ml.BinaryClassification.Trainers.Mlp(hiddenLayers: [6, 5], epochs: 5).Fit(data);
        var path = Path.Combine(_folder, "mlp.onnx");
        File.WriteAllBytes(path, MlpOnnxExporter.Export(model.Network));

        using var session = new InferenceSession(path);
        var rows = data.GetColumn<float[]>(ColumnNames.Features).Take(7).ToArray();
        var input = new DenseTensor<float>(rows.SelectMany(r => r).ToArray(), [rows.Length, Dimension]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", input)]);
        var probabilities = results.First(r => r.Name == "probabilities").AsTensor<float>().ToArray();
        var expected = new float[1];
        for (var i = 0; i < rows.Length; i++)
        {
            model.Network.PredictProbabilities(rows[i], expected);
            Assert.True(Math.Abs(expected[0] - probabilities[i]) < 1e-6, $"row {i}");
        }
    }

    [Fact]
    public void Holdout_validation_and_early_stopping_record_a_history()
    {
        var ml = new MLContext(seed: 1);
        // Overlapping classes and a wide network: the validation loss soon rises (overfitting).
        var data = Blobs(ml, classes: 2, perClass: 60, seed: 2, binary: true, separation: 0.6);
        var options = new MlpOptions { HiddenLayers = [64], Epochs = 200, ValidationFraction = 0.25, EarlyStoppingPatience = 3, Optimizer = OptimizerKind.Adam, LearningRate = 0.05 };
        var model = ml.BinaryClassification.Trainers.Mlp(options).Fit(data);
        Assert.True(model.History.StoppedEarly, $"ran all {model.History.Epochs.Count} epochs");
        Assert.All(model.History.Epochs, e => Assert.NotNull(e.ValidationLoss));
        var best = model.History.Epochs.MinBy(e => e.ValidationLoss!.Value)!;
        Assert.Equal(best.Epoch, model.History.BestEpoch);
    }

    [Theory]
    [InlineData(nameof(MlpOptions.Epochs))]
    [InlineData(nameof(MlpOptions.BatchSize))]
    [InlineData(nameof(MlpOptions.LearningRate))]
    [InlineData(nameof(MlpOptions.ValidationFraction))]
    [InlineData(nameof(MlpOptions.HiddenLayers))]
    [InlineData(nameof(MlpOptions.Dropout))]
    public void Invalid_options_are_rejected_at_construction_naming_the_option(string option)
    {
        var options = new MlpOptions();
        switch (option)
        {
            case nameof(MlpOptions.Epochs): options.Epochs = 0; break;
            case nameof(MlpOptions.BatchSize): options.BatchSize = -1; break;
            case nameof(MlpOptions.LearningRate): options.LearningRate = double.NaN; break;
            case nameof(MlpOptions.ValidationFraction): options.ValidationFraction = 1.5; break;
            case nameof(MlpOptions.HiddenLayers): options.HiddenLayers = [8, 0]; break;
            case nameof(MlpOptions.Dropout): options.Dropout = 1.0; break;
        }
        var error = Assert.ThrowsAny<ArgumentException>(() => new MlpBinaryTrainer(options));
        Assert.Contains(option, error.Message + error.ParamName, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_inputs_get_errors_naming_the_column_and_row()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 10).Select(i => new BinaryRow { Features = Enumerable.Repeat(1f, Dimension).ToArray(), Label = i % 2 == 0 }).ToList();
        rows[6].Features[3] = float.NaN;
        var nan = Assert.Throws<InvalidDataException>(() => ml.BinaryClassification.Trainers.Mlp(epochs: 1).Fit(Load(ml, rows)));
        Assert.Contains("row 6", nan.Message, StringComparison.Ordinal);
        Assert.Contains("'Features'", nan.Message, StringComparison.Ordinal);

        var multiclass = Blobs(ml, classes: 3, perClass: 5, seed: 1, binary: false);
        var noKey = Assert.ThrowsAny<ArgumentException>(() => ml.MulticlassClassification.Trainers.Mlp(epochs: 1).Fit(multiclass));
        Assert.Contains("MapValueToKey", noKey.Message, StringComparison.Ordinal);

        var wrongFeature = Assert.ThrowsAny<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.Mlp(featureColumnName: "Pixels", epochs: 1).Fit(Load(ml, rows)));
        Assert.Contains("'Pixels'", wrongFeature.Message, StringComparison.Ordinal);

        var patience = Assert.ThrowsAny<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.Mlp(new MlpOptions { EarlyStoppingPatience = 2, Epochs = 2 }).Fit(Blobs(ml, 2, 10, 1, binary: true)));
        Assert.Contains(nameof(MlpOptions.EarlyStoppingPatience), patience.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_schema_is_declared_before_fitting_so_chains_validate()
    {
        var ml = new MLContext(seed: 1);
        var raw = Blobs(ml, classes: 3, perClass: 5, seed: 1, binary: false);
        var chain = ml.Transforms.Conversion.MapValueToKey(ColumnNames.Label)
            .Append(ml.MulticlassClassification.Trainers.Mlp(epochs: 1))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", ColumnNames.PredictedLabel));
        var shape = chain.GetOutputSchema(ShapeOf(raw.Schema));
        Assert.Contains(shape, c => c.Name == "PredictedText");
        Assert.Contains(shape, c => c.Name == ColumnNames.Score && c.Kind == SchemaShape.Column.VectorKind.Vector);

        var binary = Blobs(ml, classes: 2, perClass: 5, seed: 1, binary: true);
        var binaryShape = ml.BinaryClassification.Trainers.Mlp(epochs: 1).GetOutputSchema(ShapeOf(binary.Schema));
        Assert.Contains(binaryShape, c => c.Name == ColumnNames.Probability && c.ItemType == NumberDataViewType.Single);
        Assert.Contains(binaryShape, c => c.Name == ColumnNames.PredictedLabel && c.ItemType == BooleanDataViewType.Instance);

        // EstimatorChain.Fit checks the declared shapes of the whole chain before fitting.
        var fitted = chain.Fit(raw).Transform(raw);
        Assert.Equal(TextDataViewType.Instance, fitted.Schema["PredictedText"].Type);
    }

    /// <summary>ML.NET builds SchemaShapes with an internal factory (what EstimatorChain.Fit uses); tests may call it.</summary>
    private static SchemaShape ShapeOf(DataViewSchema schema)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .Invoke(null, [schema])!;

    private ITransformer SaveAndLoad(MLContext ml, ITransformer model, DataViewSchema schema)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.zip");
        ml.Model.Save(model, schema, path);
        return new MLContext(seed: 7).Model.Load(path, out _);
    }

    /// <summary>Gaussian blobs: class c centred at separation * e_c (plus noise) in <see cref="Dimension"/> dimensions.</summary>
    private static IDataView Blobs(MLContext ml, int classes, int perClass, int seed, bool binary, string[]? names = null, double separation = 3.0)
    {
        var random = new Random(seed);
        var rows = new List<(float[] X, int Y)>();
        for (var i = 0; i < perClass; i++)
        {
            for (var c = 0; c < classes; c++)
            {
                var x = new float[Dimension];
                for (var j = 0; j < Dimension; j++)
                    x[j] = (float)(NextGaussian(random) * 0.8 + (j == c ? separation : 0));
                rows.Add((x, c));
            }
        }
        if (binary)
            return Load(ml, rows.Select(r => new BinaryRow { Features = r.X, Label = r.Y == 1 }).ToList());
        var labels = names ?? Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray();
        var definition = SchemaDefinition.Create(typeof(TextRow));
        definition[ColumnNames.Features].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Dimension);
        return ml.Data.LoadFromEnumerable(rows.Select(r => new TextRow { Features = r.X, Label = labels[r.Y] }).ToList(), definition);
    }

    private static IDataView Load(MLContext ml, List<BinaryRow> rows)
    {
        var definition = SchemaDefinition.Create(typeof(BinaryRow));
        definition[ColumnNames.Features].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Dimension);
        return ml.Data.LoadFromEnumerable(rows, definition);
    }

    private static double NextGaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private sealed class BinaryRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class TextRow
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }
}
