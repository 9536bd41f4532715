using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Mlp;
using MLPipelines.Trainers;
using MLPipelines.Trainers.Mlp;

namespace MLPipelines.Tests.Mlp;

public sealed class AugmentationTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(0, -2)]
    [InlineData(-1, 2)]
    [InlineData(2, 2)]
    public void Shift_moves_pixels_and_repeats_edges(int dy, int dx)
    {
        const int c = 2, h = 5, w = 6;
        var image = Enumerable.Range(0, c * h * w).Select(i => (float)i).ToArray();
        var shifted = image.ToArray();
        new RandomShiftAugmenter(c, h, w, 2).Shift(shifted, dy, dx);
        for (var ch = 0; ch < c; ch++)
        {
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    var expected = image[ch * h * w + Math.Clamp(y - dy, 0, h - 1) * w + Math.Clamp(x - dx, 0, w - 1)];
                    Assert.Equal(expected, shifted[ch * h * w + y * w + x]);
                }
            }
        }
    }

    [Fact]
    public void Augment_draws_shifts_within_range_from_the_given_generator()
    {
        var augmenter = new RandomShiftAugmenter(1, 8, 8, 2);
        var batch = new float[3 * 64];
        for (var i = 0; i < batch.Length; i++)
            batch[i] = i % 64;
        var values = new Queue<double>([0.0, 0.999, 0.5, 0.5, 0.3, 0.7]);
        augmenter.Augment(batch, 3, 64, values.Dequeue);
        Assert.Empty(values);
        // Row 1 drew (0.5, 0.5) -> shift (0, 0): unchanged.
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (float)i), batch.Skip(64).Take(64));
        // Row 0 drew dy = -2, dx = +2: pixel (0, 2) comes from (2, 0).
        Assert.Equal(2 * 8 + 0, batch[0 * 8 + 2]);
    }

    [Fact]
    public void Invalid_shapes_and_options_are_rejected_with_names()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomShiftAugmenter(1, 4, 4, 4));
        Assert.Throws<ArgumentException>(() => new RandomShiftAugmenter(1, 4, 4, 1).Augment(new float[10], 1, 10, () => 0.5));
        Assert.Contains(nameof(MlpOptions.RandomShift), Assert.ThrowsAny<ArgumentException>(() => new MlpBinaryTrainer(new MlpOptions { RandomShift = -1 })).Message, StringComparison.Ordinal);
        Assert.Contains(nameof(MlpOptions.ImageShape), Assert.ThrowsAny<ArgumentException>(() => new MlpBinaryTrainer(new MlpOptions { ImageShape = [1, 28] })).Message, StringComparison.Ordinal);

        // Flat features without image dimensions: RandomShift needs ImageShape.
        var ml = new MLContext(seed: 1);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 16);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 8).Select(i => new Row { Features = new float[16], Label = i % 2 == 0 }).ToList(), definition);
        var error = Assert.ThrowsAny<ArgumentException>(() => ml.BinaryClassification.Trainers.Mlp(new MlpOptions { RandomShift = 1, Epochs = 1 }).Fit(data));
        Assert.Contains("ImageShape", error.Message, StringComparison.Ordinal);
        var trained = ml.BinaryClassification.Trainers.Mlp(new MlpOptions { RandomShift = 1, ImageShape = [1, 4, 4], Epochs = 2 }).Fit(data);
        Assert.Equal(2, trained.History.Epochs.Count);
    }

    [Fact]
    public void Augmented_training_is_deterministic_for_a_seed()
    {
        var random = new Random(3);
        var x = Enumerable.Range(0, 40 * 36).Select(_ => (float)random.NextDouble()).ToArray();
        var y = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        float[] Train(int seed)
        {
            var settings = new MlpTrainingSettings { Epochs = 3, Seed = seed, Augmenter = new RandomShiftAugmenter(1, 6, 6, 1) };
            var architecture = new MlpArchitecture { InputSize = 36, HiddenSizes = [5], Output = OutputKind.SigmoidBinary };
            return new MlpEngine(architecture, settings).Train(new MlpDataset(x, y, 36)).Network.Layers[0].Weights;
        }
        Assert.Equal(Train(4), Train(4));
        Assert.NotEqual(Train(4), Train(5));
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
