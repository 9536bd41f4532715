using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

[Collection(TorchTrainingCollection.Name)]
public sealed class AugmentationTests
{
    private static Tensor Ramp(long b, long c, long h, long w)
        => torch.arange(b * c * h * w, dtype: ScalarType.Float32).view(b, c, h, w) / (b * c * h * w);

    [TorchFact]
    public void HorizontalFlip_AlwaysAndNever_AreExact()
    {
        using var g = new Generator(1);
        using var x = Ramp(3, 2, 4, 5);
        using var always = new HorizontalFlip(1.0).Apply(x, g);
        using var never = new HorizontalFlip(0.0).Apply(x, g);
        using var flipped = x.flip(3);
        Assert.True(always.allclose(flipped, 0, 0));
        Assert.True(never.allclose(x, 0, 0));
    }

    [TorchFact]
    public void HorizontalFlip_Half_FlipsWholeImagesOnly()
    {
        using var g = new Generator(3);
        using var x = Ramp(64, 1, 3, 3);
        using var y = new HorizontalFlip(0.5).Apply(x, g);
        using var flipped = x.flip(3);
        int flips = 0;
        for (int i = 0; i < 64; i++)
        {
            bool same = y[i].allclose(x[i], 0, 0);
            bool mirror = y[i].allclose(flipped[i], 0, 0);
            Assert.True(same || mirror);
            if (mirror) flips++;
        }
        Assert.InRange(flips, 16, 48);
    }

    [TorchFact]
    public void RandomCropWithPadding_KeepsTheShape_AndIsAWholePixelShiftWithZeros()
    {
        const int pad = 2;
        using var g = new Generator(5);
        using var x = Ramp(8, 2, 6, 7) + 1; // no zeros inside the image
        using var y = new RandomCropWithPadding(pad).Apply(x, g);
        Assert.Equal(x.shape, y.shape);
        using var padded = nn.functional.pad(x, [pad, pad, pad, pad]);
        for (int i = 0; i < 8; i++)
        {
            bool found = false;
            for (int dy = 0; dy <= 2 * pad && !found; dy++)
                for (int dx = 0; dx <= 2 * pad && !found; dx++)
                {
                    using var window = padded[i].narrow(1, dy, 6).narrow(2, dx, 7);
                    found = window.allclose(y[i], 0, 0);
                }
            Assert.True(found, $"image {i} is not a padded crop of the input");
        }
    }

    [TorchFact]
    public void SmallRotation_ByZero_IsTheIdentity()
    {
        using var g = new Generator(7);
        using var x = torch.rand(4, 3, 9, 11, generator: g);
        using var y = new SmallRotation(0).Apply(x, g);
        Assert.True((y - x).abs().max().item<float>() <= 1e-5f);
    }

    [TorchFact]
    public void SmallRotation_KeepsTheCentreOfAConstantImage()
    {
        using var g = new Generator(7);
        using var x = torch.ones(2, 1, 8, 8);
        using var y = new SmallRotation(10).Apply(x, g);
        Assert.Equal(x.shape, y.shape);
        // The centre pixels stay 1 for a small rotation of a constant image.
        Assert.True((y[.., .., 3..5, 3..5] - 1).abs().max().item<float>() < 1e-5f);
    }

    [TorchFact]
    public void ColorJitter_Brightness_StaysWithinItsFactorBounds()
    {
        using var g = new Generator(11);
        using var x = torch.rand(32, 3, 4, 4, generator: g) + 0.1;
        using var y = new ColorJitter(brightness: 0.3, contrast: 0, saturation: 0).Apply(x, g);
        using var ratio = y / x;
        Assert.True(ratio.min().item<float>() >= 0.7f - 1e-5f);
        Assert.True(ratio.max().item<float>() <= 1.3f + 1e-5f);
        // One factor per image: the ratio is constant inside an image.
        using var spread = ratio.amax([1, 2, 3]) - ratio.amin([1, 2, 3]);
        Assert.True(spread.max().item<float>() < 1e-5f);
    }

    [TorchFact]
    public void ColorJitter_ContrastAndSaturation_KeepMeansAndGrey()
    {
        using var g = new Generator(13);
        using var x = torch.rand(16, 3, 5, 5, generator: g);
        using var c = new ColorJitter(brightness: 0, contrast: 0.5, saturation: 0).Apply(x, g);
        static Tensor Grey(Tensor t) => t[.., 0..1] * 0.299 + t[.., 1..2] * 0.587 + t[.., 2..3] * 0.114;
        using var meanBefore = Grey(x).mean([1, 2, 3]);
        using var meanAfter = Grey(c).mean([1, 2, 3]);
        Assert.True((meanBefore - meanAfter).abs().max().item<float>() < 1e-5f);
        using var s = new ColorJitter(brightness: 0, contrast: 0, saturation: 0.5).Apply(x, g);
        Assert.True((Grey(x) - Grey(s)).abs().max().item<float>() < 1e-5f);
        using var clamped = new ColorJitter(brightness: 0.9, contrast: 0.9, clampToUnitRange: true).Apply(x, g);
        Assert.True(clamped.min().item<float>() >= 0 && clamped.max().item<float>() <= 1);
    }

    [TorchFact]
    public void RandomResizedCrop_FullScale_IsTheIdentity_AndSmallerScalesKeepTheShape()
    {
        using var g = new Generator(17);
        using var x = torch.rand(4, 1, 8, 8, generator: g);
        using var same = new RandomResizedCrop(1.0, 1.0).Apply(x, g);
        // Scale 1 with a non-square ratio is clamped to the full axis on one side; the checked property is the shape
        // and that the values stay inside the input's range (bilinear interpolation never overshoots).
        Assert.Equal(x.shape, same.shape);
        using var y = new RandomResizedCrop(0.5, 0.9).Apply(x, g);
        Assert.Equal(x.shape, y.shape);
        Assert.True(y.min().item<float>() >= x.min().item<float>() - 1e-6f);
        Assert.True(y.max().item<float>() <= x.max().item<float>() + 1e-6f);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        Assert.Equal("padding", Assert.Throws<ArgumentException>(() => new RandomCropWithPadding(0)).ParamName);
        Assert.Equal("probability", Assert.Throws<ArgumentException>(() => new HorizontalFlip(1.5)).ParamName);
        Assert.Equal("minScale", Assert.Throws<ArgumentException>(() => new RandomResizedCrop(0)).ParamName);
        Assert.Equal("maxDegrees", Assert.Throws<ArgumentException>(() => new SmallRotation(-1)).ParamName);
        Assert.Equal("brightness", Assert.Throws<ArgumentException>(() => new ColorJitter(-1)).ParamName);
    }
}
