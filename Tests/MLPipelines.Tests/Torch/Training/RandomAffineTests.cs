using MLPipelines.Mlp;
using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

[Collection(TorchTrainingCollection.Name)]
public sealed class RandomAffineTests
{
    [TorchFact]
    public void RandomAffine_maps_pixels_like_the_pure_CSharp_augmenter()
    {
        const int b = 3, c = 1, h = 7, w = 8;
        const double degrees = 15, minScale = 0.85, maxScale = 1.15, translate = 2;
        var pixels = Enumerable.Range(0, b * c * h * w).Select(i => (float)Math.Cos(i * 0.37) + 1.5f).ToArray();
        using var x = torch.tensor(pixels).view(b, c, h, w);
        using var g = new Generator(11);
        using var y = new RandomAffine(degrees, minScale, maxScale, translate).Apply(x, g);

        // The same draws, in the augmentation's order: B angles, B scales, B x-shifts, B y-shifts.
        using var replay = new Generator(11);
        double[] Draw(double low, double high)
        {
            using var u = torch.rand([b], dtype: ScalarType.Float32, generator: replay);
            return u.data<float>().Select(v => low + (v * (high - low))).ToArray();
        }

        double limit = degrees * Math.PI / 180;
        var angles = Draw(-limit, limit);
        var scales = Draw(minScale, maxScale);
        var tx = Draw(-translate, translate);
        var ty = Draw(-translate, translate);
        var actual = y.data<float>().ToArray();
        var reference = new RandomAffineAugmenter(c, h, w);
        for (var i = 0; i < b; i++)
        {
            var image = pixels.AsSpan(i * c * h * w, c * h * w).ToArray();
            reference.Transform(image, angles[i], scales[i], tx[i], ty[i]);
            for (var p = 0; p < image.Length; p++)
                Assert.Equal(image[p], actual[(i * c * h * w) + p], 3);
        }
    }

    [TorchFact]
    public void RandomAffine_rejects_invalid_ranges()
    {
        Assert.Throws<ArgumentException>(() => new RandomAffine(maxDegrees: -1));
        Assert.Throws<ArgumentException>(() => new RandomAffine(minScale: 0));
        Assert.Throws<ArgumentException>(() => new RandomAffine(minScale: 1.1, maxScale: 1.0));
        Assert.Throws<ArgumentException>(() => new RandomAffine(maxTranslate: -0.5));
    }
}
