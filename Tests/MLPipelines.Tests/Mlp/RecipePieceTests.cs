using MLPipelines.Mlp;
using MLPipelines.Mlp.Kernels;
using MLPipelines.Torch.Training;

namespace MLPipelines.Tests.Mlp;

/// <summary>The pure-C# pieces of the best recipe (affine augmentation, warm-up cosine, label smoothing) against scalar references.</summary>
public sealed class RecipePieceTests
{
    /// <summary>
    /// Reference bilinear sampling written from the definition: the input point is the inverse of "zoom by s, rotate
    /// by θ, then translate by t" applied to the output pixel, about the centre ((W − 1) / 2, (H − 1) / 2); the
    /// value is Σ weight × pixel over the four neighbours, each outside neighbour counting as the fill.
    /// </summary>
    private static float[] ReferenceAffine(float[] image, int c, int h, int w, double angle, double scale, double tx, double ty, float fill)
    {
        var result = new float[image.Length];
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        for (var ch = 0; ch < c; ch++)
        {
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    // Undo the translation, then the rotation (by −θ), then the zoom.
                    double ux = x - cx - tx, uy = y - cy - ty;
                    double rx = (Math.Cos(-angle) * ux) - (Math.Sin(-angle) * uy);
                    double ry = (Math.Sin(-angle) * ux) + (Math.Cos(-angle) * uy);
                    double sx = (rx / scale) + cx, sy = (ry / scale) + cy;
                    double sum = 0;
                    for (var ny = (int)Math.Floor(sy); ny <= (int)Math.Floor(sy) + 1; ny++)
                    {
                        for (var nx = (int)Math.Floor(sx); nx <= (int)Math.Floor(sx) + 1; nx++)
                        {
                            double weight = (1 - Math.Abs(sx - nx)) * (1 - Math.Abs(sy - ny));
                            double v = ny >= 0 && ny < h && nx >= 0 && nx < w ? image[(ch * h * w) + (ny * w) + nx] : fill;
                            sum += weight * v;
                        }
                    }

                    result[(ch * h * w) + (y * w) + x] = (float)sum;
                }
            }
        }

        return result;
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.0, 0.0)]
    [InlineData(0.2, 1.0, 0.0, 0.0)]
    [InlineData(-0.15, 0.9, 1.5, -2.0)]
    [InlineData(0.1, 1.1, -0.7, 0.3)]
    public void RandomAffine_matches_a_scalar_reference_on_a_tiny_image(double angle, double scale, double tx, double ty)
    {
        const int c = 2, h = 5, w = 6;
        var image = Enumerable.Range(0, c * h * w).Select(i => (float)Math.Sin(i * 0.7) + 1).ToArray();
        var actual = image.ToArray();
        new RandomAffineAugmenter(c, h, w, fill: -0.5f).Transform(actual, angle, scale, tx, ty);
        var expected = ReferenceAffine(image, c, h, w, angle, scale, tx, ty, -0.5f);
        for (var i = 0; i < image.Length; i++)
            Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public void RandomAffine_identity_is_exact_and_a_whole_pixel_translation_moves_pixels()
    {
        const int h = 4, w = 5;
        var image = Enumerable.Range(1, h * w).Select(i => (float)i).ToArray();
        var same = image.ToArray();
        var augmenter = new RandomAffineAugmenter(1, h, w);
        augmenter.Transform(same, 0, 1, 0, 0);
        Assert.Equal(image, same);

        var moved = image.ToArray();
        augmenter.Transform(moved, 0, 1, 1, 0); // content moves one pixel right; column 0 reads outside (fill 0)
        for (var y = 0; y < h; y++)
        {
            Assert.Equal(0f, moved[y * w]);
            for (var x = 1; x < w; x++)
                Assert.Equal(image[(y * w) + x - 1], moved[(y * w) + x], 5);
        }
    }

    [Fact]
    public void RandomAffine_draws_angle_scale_and_translation_in_order_within_range()
    {
        const int h = 6, w = 6;
        var image = Enumerable.Range(0, h * w).Select(i => (float)i).ToArray();
        var batch = image.Concat(image).ToArray();
        var draws = new Queue<double>([0.5, 0.5, 0.5, 0.5, 1.0, 0.0, 1.0, 0.0]);
        var augmenter = new RandomAffineAugmenter(1, h, w, maxDegrees: 10, minScale: 0.8, maxScale: 1.2, maxTranslate: 2);
        augmenter.Augment(batch, 2, h * w, draws.Dequeue);
        Assert.Empty(draws);
        Assert.Equal(image, batch.Take(h * w)); // the middle of every range is the identity
        var expected = ReferenceAffine(image, 1, h, w, 10 * Math.PI / 180, 0.8, 2, -2, 0f);
        for (var i = 0; i < h * w; i++)
            Assert.Equal(expected[i], batch[(h * w) + i], 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffineAugmenter(1, h, w, maxDegrees: 200));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffineAugmenter(1, h, w, minScale: 1.2, maxScale: 1.1));
        Assert.Throws<ArgumentException>(() => augmenter.Augment(new float[10], 1, 10, () => 0.5));
    }

    [Fact]
    public void WarmupCosine_follows_its_formula_and_agrees_between_engines()
    {
        var s = new MlpTrainingSettings { LearningRate = 0.2, Schedule = LearningRateSchedule.WarmupCosine, WarmupEpochs = 2, Epochs = 7 };
        double[] expected = [0.1, 0.2, 0.2, 0.2 * 0.5 * (1 + Math.Cos(Math.PI / 4)), 0.1, 0.2 * 0.5 * (1 + Math.Cos(3 * Math.PI / 4)), 0];
        for (var e = 0; e < 7; e++)
            Assert.Equal(expected[e], s.LearningRateAt(e), 12);

        var torch = (TorchLearningRateSchedule.WarmupCosineSchedule)TorchLearningRateSchedule.WarmupCosine(2, 0);
        for (var e = 0; e < 7; e++)
            Assert.Equal(s.LearningRateAt(e), 0.2 * torch.Factor(e, 7), 12);
        var floor = (TorchLearningRateSchedule.WarmupCosineSchedule)TorchLearningRateSchedule.WarmupCosine(0, 0.1);
        Assert.Equal(1.0, floor.Factor(0, 5), 12);
        Assert.Equal(0.1, floor.Factor(4, 5), 12);
        Assert.Throws<ArgumentException>(() => new MlpTrainingSettings { WarmupEpochs = -1 }.Validate());
    }

    [Fact]
    public void Label_smoothed_cross_entropy_matches_a_scalar_reference_and_its_gradient()
    {
        const int rows = 2, k = 4;
        const double e = 0.2;
        float[] logits = [0.5f, -1.25f, 2f, 0.1f, 0.2f, 0.3f, -0.4f, 1.5f];
        int[] labels = [2, 0];
        var delta = new float[rows * k];
        double sum = NeuralOps.SoftmaxCrossEntropy(logits, labels, rows, k, delta, 1f, out _, e);

        double Loss(float[] z)
        {
            double total = 0;
            for (var r = 0; r < rows; r++)
            {
                double norm = 0;
                for (var j = 0; j < k; j++)
                    norm += Math.Exp(z[(r * k) + j]);
                for (var j = 0; j < k; j++)
                {
                    double q = (j == labels[r] ? 1 - e : 0) + (e / k);
                    total -= q * Math.Log(Math.Exp(z[(r * k) + j]) / norm);
                }
            }

            return total;
        }

        Assert.Equal(Loss(logits), sum, 6);
        for (var i = 0; i < logits.Length; i++)
        {
            var plus = logits.ToArray();
            var minus = logits.ToArray();
            plus[i] += 1e-3f;
            minus[i] -= 1e-3f;
            Assert.Equal((Loss(plus) - Loss(minus)) / 2e-3, delta[i], 3);
        }

        // e = 0 is plain cross-entropy.
        var plain = NeuralOps.SoftmaxCrossEntropy(logits, labels, rows, k, default, 0f, out _);
        Assert.Equal(plain, NeuralOps.SoftmaxCrossEntropy(logits, labels, rows, k, default, 0f, out _, 0), 12);
        Assert.Throws<ArgumentException>(() => new MlpTrainingSettings { LabelSmoothing = 1 }.Validate());
    }
}
