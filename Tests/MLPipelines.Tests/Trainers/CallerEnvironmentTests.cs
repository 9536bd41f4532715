using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Trainers.Mlp;

namespace MLPipelines.Tests.Trainers;

/// <summary>
/// Trainers created from the catalog work in the caller's MLContext: messages reach <c>ml.Log</c>, the seed comes from
/// <c>new MLContext(seed)</c> when the options give none, and ML.NET's cancellation stops training.
/// </summary>
public sealed class CallerEnvironmentTests
{
    private const int Dimension = 6;

    private static IDataView Data(MLContext ml)
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 120).Select(i =>
        {
            bool label = i % 2 == 0;
            var x = Enumerable.Range(0, Dimension).Select(j => (float)(random.NextDouble() + (label && j == 0 ? 1.5 : 0))).ToArray();
            return new Row { Features = x, Label = label };
        }).ToList();
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Dimension);
        return ml.Data.LoadFromEnumerable(rows, definition);
    }

    private static byte[] Train(MLContext ml, int? optionsSeed = null) =>
        ml.BinaryClassification.Trainers.Mlp(new MlpOptions { HiddenLayers = [5], Epochs = 3, Seed = optionsSeed }).Fit(Data(ml)).OnnxModel;

    [Fact]
    public void Training_messages_reach_the_callers_log()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source.StartsWith(nameof(MlpBinaryTrainer), StringComparison.Ordinal)) lock (messages) messages.Add(e.Message); };
        Train(ml);
        Assert.Contains(messages, m => m.Contains("training on 120 rows of 6 features", StringComparison.Ordinal));
        Assert.Equal(3, messages.Count(m => m.Contains("] epoch ", StringComparison.Ordinal)));
        Assert.Contains(messages, m => m.Contains("epoch 3/3: train loss", StringComparison.Ordinal));
    }

    [Fact]
    public void The_seed_comes_from_the_MLContext_unless_the_options_give_one()
    {
        byte[] a = Train(new MLContext(seed: 7));
        byte[] b = Train(new MLContext(seed: 7));
        byte[] c = Train(new MLContext(seed: 8));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        // An explicit seed wins over the context's.
        Assert.Equal(Train(new MLContext(seed: 7), optionsSeed: 3), Train(new MLContext(seed: 8), optionsSeed: 3));
        // Without a context (plain constructor) the documented default seed applies: repeatable.
        var ml = new MLContext();
        Assert.Equal(
            new MlpBinaryTrainer(new MlpOptions { HiddenLayers = [5], Epochs = 3 }).Fit(Data(ml)).OnnxModel,
            new MlpBinaryTrainer(new MlpOptions { HiddenLayers = [5], Epochs = 3 }).Fit(Data(ml)).OnnxModel);
    }

    [Fact]
    public void Cancelling_the_context_or_the_options_token_stops_training()
    {
        var ml = new MLContext(seed: 1);
        // ML.NET's CancelExecution (public through Microsoft.ML.Experimental, which the registry here does not serve).
        var cancel = typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!;
        int epochs = 0;
        var options = new MlpOptions
        {
            HiddenLayers = [5], Epochs = 500, BatchSize = 4,
            Progress = new SyncProgress(r => { epochs = r.Epoch; if (r.Epoch == 2) cancel.Invoke(ml, null); }),
        };
        Assert.ThrowsAny<OperationCanceledException>(() => ml.BinaryClassification.Trainers.Mlp(options).Fit(Data(ml)));
        Assert.InRange(epochs, 2, 40);

        using var source = new CancellationTokenSource();
        int epochs2 = 0;
        var withToken = new MlpOptions
        {
            HiddenLayers = [5], Epochs = 500, BatchSize = 4, CancellationToken = source.Token,
            Progress = new SyncProgress(r => { epochs2 = r.Epoch; if (r.Epoch == 2) source.Cancel(); }),
        };
        Assert.ThrowsAny<OperationCanceledException>(() => new MlpBinaryTrainer(withToken).Fit(Data(new MLContext(1))));
        Assert.InRange(epochs2, 2, 3);
    }

    private sealed class SyncProgress(Action<EpochRecord> report) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => report(value);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
