using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// A random transformation of a batch of channels-first images [B, C, H, W], applied on the batch's device by
/// <see cref="TorchClassifierTrainer"/> to every training batch (see <see cref="TorchTrainingSettings.Augmentation"/>).
/// Each image of the batch draws its own parameters.
/// </summary>
public abstract class TorchAugmentation
{
    /// <summary>Transforms <paramref name="images"/>; the result has the same shape and device.</summary>
    /// <param name="images">A float batch [B, C, H, W].</param>
    /// <param name="generator">The CPU generator the random parameters are drawn from (seeded by the trainer).</param>
    /// <returns>A new tensor; <paramref name="images"/> is not modified.</returns>
    public abstract Tensor Apply(Tensor images, Generator generator);

    /// <summary>B values uniform in [<paramref name="low"/>, <paramref name="high"/>), drawn on the CPU from <paramref name="generator"/> and moved to <paramref name="device"/>.</summary>
    /// <param name="count">How many values.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <param name="generator">The CPU generator.</param>
    /// <param name="device">The device of the result.</param>
    protected static Tensor Uniform(long count, double low, double high, Generator generator, Device device)
    {
        using var u = torch.rand([count], dtype: ScalarType.Float32, generator: generator);
        return (u * (high - low) + low).to(device);
    }

    /// <summary>Checks that <paramref name="images"/> is a float batch [B, C, H, W].</summary>
    /// <param name="images">The batch.</param>
    protected static void CheckImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4)
            throw new ArgumentException($"An augmentation needs images [B, C, H, W], got shape [{string.Join(", ", images.shape)}].", nameof(images));
    }

    /// <summary>
    /// Samples <paramref name="images"/> through per-image affine maps <paramref name="theta"/> [B, 2, 3] (output
    /// coordinates to input coordinates, normalised to [-1, 1], align_corners false) with zeros outside the image.
    /// </summary>
    /// <param name="images">The batch [B, C, H, W].</param>
    /// <param name="theta">The affine maps [B, 2, 3].</param>
    /// <param name="nearest">Nearest-neighbour sampling (exact pixel copies) instead of bilinear.</param>
    protected static Tensor Warp(Tensor images, Tensor theta, bool nearest = false)
    {
        using var grid = nn.functional.affine_grid(theta, images.shape, align_corners: false);
        return nn.functional.grid_sample(images, grid,
            nearest ? GridSampleMode.Nearest : GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
    }

    /// <summary>Stacks six [B] tensors into affine maps [B, 2, 3] (row-major a, b, c / d, e, f).</summary>
    private protected static Tensor Theta(Tensor a, Tensor b, Tensor c, Tensor d, Tensor e, Tensor f)
        => torch.stack([a, b, c, d, e, f], dim: 1).view(-1, 2, 3);
}

/// <summary>
/// Crops a random region covering a fraction of the image area in [<see cref="MinScale"/>, <see cref="MaxScale"/>]
/// with an aspect ratio in [3/4, 4/3] (log-uniform), and resizes it back to H × W (bilinear), like torchvision's
/// RandomResizedCrop.
/// </summary>
public sealed class RandomResizedCrop : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="minScale">Smallest area fraction, in (0, 1]. A value like 0.8 keeps most of a hand sign in view.</param>
    /// <param name="maxScale">Largest area fraction, in [<paramref name="minScale"/>, 1].</param>
    public RandomResizedCrop(double minScale = 0.8, double maxScale = 1.0)
    {
        if (!(minScale > 0 && minScale <= 1))
            throw new ArgumentException($"minScale must be in (0, 1], got {minScale}.", nameof(minScale));
        if (!(maxScale >= minScale && maxScale <= 1))
            throw new ArgumentException($"maxScale must be in [minScale, 1], got {maxScale}.", nameof(maxScale));
        MinScale = minScale;
        MaxScale = maxScale;
    }

    /// <summary>Smallest area fraction of the crop.</summary>
    public double MinScale { get; }

    /// <summary>Largest area fraction of the crop.</summary>
    public double MaxScale { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0];
        var device = images.device;
        var scale = Uniform(b, MinScale, MaxScale, generator, device);
        var logRatio = Uniform(b, Math.Log(3.0 / 4.0), Math.Log(4.0 / 3.0), generator, device);
        var ratio = logRatio.exp();
        var w = (scale * ratio).sqrt().clamp_max(1.0);
        var h = (scale / ratio).sqrt().clamp_max(1.0);
        var cx = (Uniform(b, -1, 1, generator, device)) * (1 - w);
        var cy = (Uniform(b, -1, 1, generator, device)) * (1 - h);
        var zero = torch.zeros_like(w);
        var result = Warp(images, Theta(w, zero, cx, zero, h, cy));
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Pads the image with <see cref="Padding"/> zero pixels on every side and crops a random H × W window, like
/// torchvision's RandomCrop(padding): the image moves by a whole number of pixels in [-Padding, Padding] along
/// each axis, and uncovered pixels are 0. Pixel values are copied exactly.
/// </summary>
public sealed class RandomCropWithPadding : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="padding">Zero pixels added on each side; positive.</param>
    public RandomCropWithPadding(int padding = 4)
    {
        if (padding <= 0)
            throw new ArgumentException($"padding must be positive, got {padding}.", nameof(padding));
        Padding = padding;
    }

    /// <summary>Zero pixels added on each side before cropping.</summary>
    public int Padding { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0], height = images.shape[2], width = images.shape[3];
        var device = images.device;
        // Whole-pixel shifts d in [-Padding, Padding]; in normalised coordinates a shift of d pixels is 2d / size.
        var dx = Uniform(b, 0, 2 * Padding + 1, generator, device).floor().clamp_max(2 * Padding) - Padding;
        var dy = Uniform(b, 0, 2 * Padding + 1, generator, device).floor().clamp_max(2 * Padding) - Padding;
        var one = torch.ones_like(dx);
        var zero = torch.zeros_like(dx);
        var result = Warp(images, Theta(one, zero, dx * (2.0 / width), zero, one, dy * (2.0 / height)), nearest: true);
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Mirrors each image left-right with probability <see cref="Probability"/>. Not in the defaults: a mirrored hand
/// sign may change its meaning.
/// </summary>
public sealed class HorizontalFlip : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="probability">Probability that an image is mirrored, in [0, 1].</param>
    public HorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentException($"probability must be in [0, 1], got {probability}.", nameof(probability));
        Probability = probability;
    }

    /// <summary>Probability that an image is mirrored.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        var flip = Uniform(images.shape[0], 0, 1, generator, images.device).lt(Probability).view(-1, 1, 1, 1);
        var result = torch.where(flip, images.flip(3), images);
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Rotates each image about its centre by an angle uniform in [-<see cref="MaxDegrees"/>, <see cref="MaxDegrees"/>]
/// (affine_grid + bilinear grid_sample, zeros outside the image; the aspect ratio is respected).
/// </summary>
public sealed class SmallRotation : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="maxDegrees">Largest absolute angle in degrees, in [0, 180].</param>
    public SmallRotation(double maxDegrees = 10)
    {
        if (!(maxDegrees >= 0 && maxDegrees <= 180))
            throw new ArgumentException($"maxDegrees must be in [0, 180], got {maxDegrees}.", nameof(maxDegrees));
        MaxDegrees = maxDegrees;
    }

    /// <summary>Largest absolute rotation angle in degrees.</summary>
    public double MaxDegrees { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0], height = images.shape[2], width = images.shape[3];
        double limit = MaxDegrees * Math.PI / 180.0;
        var angle = Uniform(b, -limit, limit, generator, images.device);
        var cos = angle.cos();
        var sin = angle.sin();
        var zero = torch.zeros_like(angle);
        // Normalised coordinates scale x by 2/W and y by 2/H, so the rotation picks up the aspect ratio.
        var theta = Theta(cos, -sin * ((double)height / width), zero, sin * ((double)width / height), cos, zero);
        var result = Warp(images, theta);
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A random affine map per image, like torchvision's RandomAffine: a rotation by an angle uniform in
/// ±<see cref="MaxDegrees"/>, a zoom by a factor uniform in [<see cref="MinScale"/>, <see cref="MaxScale"/>] and a
/// translation by up to ±<see cref="MaxTranslate"/> pixels along each axis (continuous), about the image centre,
/// bilinear, zeros outside the image. In pixel coordinates centred on the image, the output pixel p reads the input at
/// R(-θ) (p - t) / s (rotation θ, scale s, translation t), the same map as <c>MLPipelines.Mlp.RandomAffineAugmenter</c>.
/// </summary>
public sealed class RandomAffine : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="maxDegrees">Largest absolute rotation in degrees, in [0, 180].</param>
    /// <param name="minScale">Smallest zoom factor, positive.</param>
    /// <param name="maxScale">Largest zoom factor, at least <paramref name="minScale"/>.</param>
    /// <param name="maxTranslate">Largest translation in pixels along each axis, non-negative.</param>
    public RandomAffine(double maxDegrees = 12, double minScale = 0.9, double maxScale = 1.1, double maxTranslate = 2.5)
    {
        if (!(maxDegrees >= 0 && maxDegrees <= 180))
            throw new ArgumentException($"maxDegrees must be in [0, 180], got {maxDegrees}.", nameof(maxDegrees));
        if (!(minScale > 0) || double.IsInfinity(minScale))
            throw new ArgumentException($"minScale must be positive and finite, got {minScale}.", nameof(minScale));
        if (!(maxScale >= minScale) || double.IsInfinity(maxScale))
            throw new ArgumentException($"maxScale must be finite and at least minScale, got {maxScale}.", nameof(maxScale));
        if (!(maxTranslate >= 0) || double.IsInfinity(maxTranslate))
            throw new ArgumentException($"maxTranslate must be non-negative and finite, got {maxTranslate}.", nameof(maxTranslate));
        MaxDegrees = maxDegrees;
        MinScale = minScale;
        MaxScale = maxScale;
        MaxTranslate = maxTranslate;
    }

    /// <summary>Largest absolute rotation angle in degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>Smallest zoom factor.</summary>
    public double MinScale { get; }

    /// <summary>Largest zoom factor.</summary>
    public double MaxScale { get; }

    /// <summary>Largest translation in pixels.</summary>
    public double MaxTranslate { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0], height = images.shape[2], width = images.shape[3];
        var device = images.device;
        double limit = MaxDegrees * Math.PI / 180.0;
        var angle = Uniform(b, -limit, limit, generator, device);
        var scale = Uniform(b, MinScale, MaxScale, generator, device);
        var tx = Uniform(b, -MaxTranslate, MaxTranslate, generator, device);
        var ty = Uniform(b, -MaxTranslate, MaxTranslate, generator, device);
        var cos = angle.cos() / scale;
        var sin = angle.sin() / scale;
        // Pixel map: input = M (output - t) with M = R(-θ) / s = [[cos, sin], [-sin, cos]] / s. Normalised coordinates
        // are u = 2x / W, v = 2y / H (about the centre), so the off-diagonal terms pick up the aspect ratio.
        double rw = (double)width / height, rh = (double)height / width;
        var a = cos;
        var bb = sin * rh;
        var d = -sin * rw;
        var e = cos;
        var nx = tx * (2.0 / width);
        var ny = ty * (2.0 / height);
        var c = -(a * nx + bb * ny);
        var f = -(d * nx + e * ny);
        var result = Warp(images, Theta(a, bb, c, d, e, f));
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Random brightness, contrast and saturation changes, applied in that order with per-image factors uniform in
/// [max(0, 1 - x), 1 + x]: brightness multiplies the pixels; contrast blends each image with its mean grey level;
/// saturation (3-channel RGB images only; a no-op otherwise) blends each pixel with its grey value
/// (0.299 R + 0.587 G + 0.114 B).
/// </summary>
public sealed class ColorJitter : TorchAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    /// <param name="brightness">Brightness strength, non-negative (0 = off).</param>
    /// <param name="contrast">Contrast strength, non-negative (0 = off).</param>
    /// <param name="saturation">Saturation strength, non-negative (0 = off).</param>
    /// <param name="clampToUnitRange">Whether results are clamped to [0, 1] (for pixels scaled to [0, 1]; leave off for standardised inputs).</param>
    public ColorJitter(double brightness = 0.2, double contrast = 0.2, double saturation = 0.0, bool clampToUnitRange = false)
    {
        if (!(brightness >= 0) || double.IsInfinity(brightness))
            throw new ArgumentException($"brightness must be non-negative and finite, got {brightness}.", nameof(brightness));
        if (!(contrast >= 0) || double.IsInfinity(contrast))
            throw new ArgumentException($"contrast must be non-negative and finite, got {contrast}.", nameof(contrast));
        if (!(saturation >= 0) || double.IsInfinity(saturation))
            throw new ArgumentException($"saturation must be non-negative and finite, got {saturation}.", nameof(saturation));
        Brightness = brightness;
        Contrast = contrast;
        Saturation = saturation;
        ClampToUnitRange = clampToUnitRange;
    }

    /// <summary>Brightness strength.</summary>
    public double Brightness { get; }

    /// <summary>Contrast strength.</summary>
    public double Contrast { get; }

    /// <summary>Saturation strength (RGB images only).</summary>
    public double Saturation { get; }

    /// <summary>Whether results are clamped to [0, 1].</summary>
    public bool ClampToUnitRange { get; }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0];
        var device = images.device;
        var x = images;
        if (Brightness > 0)
            x = x * Factor(b, Brightness, generator, device);
        if (Contrast > 0)
        {
            var mean = Grey(x).mean([1, 2, 3], keepdim: true);
            x = (x - mean) * Factor(b, Contrast, generator, device) + mean;
        }
        if (Saturation > 0 && x.shape[1] == 3)
        {
            var grey = Grey(x);
            x = (x - grey) * Factor(b, Saturation, generator, device) + grey;
        }
        if (ClampToUnitRange)
            x = x.clamp(0.0, 1.0);
        var result = ReferenceEquals(x, images) ? images.clone() : x;
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Factor(long count, double strength, Generator generator, Device device)
        => Uniform(count, Math.Max(0, 1 - strength), 1 + strength, generator, device).view(-1, 1, 1, 1);

    /// <summary>The grey level [B, 1, H, W]: luma weights for RGB, the channel mean otherwise.</summary>
    private static Tensor Grey(Tensor x)
    {
        if (x.shape[1] != 3)
            return x.mean([1], keepdim: true);
        return x.narrow(1, 0, 1) * 0.299 + x.narrow(1, 1, 1) * 0.587 + x.narrow(1, 2, 1) * 0.114;
    }
}

/// <summary>
/// TrivialAugment (Müller and Hutter 2021, the "wide" magnitudes of torchvision's TrivialAugmentWide) as a batch
/// operation: every image draws ONE operation uniformly from identity, shear x/y (up to 0.99), translate x/y (up to
/// 32/224 of the side), rotate (up to <see cref="MaxDegrees"/>), brightness, saturation, contrast and sharpness
/// (factor 1 ± up to 0.99), and, for pixels in [0, 1] (<see cref="UnitRange"/>), posterize (8 to 2 bits), solarize
/// (threshold 1 to 0) and autocontrast, with a magnitude drawn uniformly from 31 bins and a random sign. Equalize is
/// left out (a per-image histogram). The geometric operations share one bilinear affine warp with zeros outside the
/// image; the colour operations run on the whole batch and are selected per image, so the cost is a few elementwise
/// passes whatever the mix of operations. All parameters are drawn from the trainer's generator.
/// </summary>
public sealed class TrivialAugment : TorchAugmentation
{
    private const int Bins = 31;

    /// <summary>The operations, in the order their index is drawn.</summary>
    public enum Operation
    {
        /// <summary>No change.</summary>
        Identity,

        /// <summary>Horizontal shear.</summary>
        ShearX,

        /// <summary>Vertical shear.</summary>
        ShearY,

        /// <summary>Horizontal translation.</summary>
        TranslateX,

        /// <summary>Vertical translation.</summary>
        TranslateY,

        /// <summary>Rotation about the centre.</summary>
        Rotate,

        /// <summary>Brightness factor.</summary>
        Brightness,

        /// <summary>Saturation factor (RGB only; identity otherwise).</summary>
        Color,

        /// <summary>Contrast factor (blend with the image's mean grey).</summary>
        Contrast,

        /// <summary>Sharpness factor (blend with a 3x3 smoothed image).</summary>
        Sharpness,

        /// <summary>Keep the top 8 to 2 bits of each 8-bit level (unit range only).</summary>
        Posterize,

        /// <summary>Invert the pixels at or above a threshold (unit range only).</summary>
        Solarize,

        /// <summary>Stretch each channel to [0, 1] (unit range only).</summary>
        AutoContrast,
    }

    /// <summary>Creates the augmentation.</summary>
    /// <param name="unitRange">Whether the pixels are in [0, 1]: enables posterize, solarize and autocontrast and clamps colour results to [0, 1].</param>
    /// <param name="maxDegrees">Largest rotation in degrees, in [0, 180] (TrivialAugmentWide: 135).</param>
    public TrivialAugment(bool unitRange = true, double maxDegrees = 135)
    {
        if (!(maxDegrees >= 0 && maxDegrees <= 180))
            throw new ArgumentException($"maxDegrees must be in [0, 180], got {maxDegrees}.", nameof(maxDegrees));
        UnitRange = unitRange;
        MaxDegrees = maxDegrees;
    }

    /// <summary>Whether the pixels are in [0, 1] (enables the operations that need it).</summary>
    public bool UnitRange { get; }

    /// <summary>Largest rotation in degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>How many operations an image draws from.</summary>
    public int OperationCount => UnitRange ? 13 : 10;

    /// <summary>
    /// The operation and signed magnitude in [-1, 1] of each image, as drawn by <see cref="Apply"/> from the same
    /// generator state: (op index [B] int64, magnitude [B] float32 on the CPU).
    /// </summary>
    /// <param name="count">Images in the batch.</param>
    /// <param name="generator">The generator.</param>
    public (Tensor Ops, Tensor Magnitudes) Draw(long count, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        var ops = torch.randint(OperationCount, [count], dtype: ScalarType.Int64, generator: generator);
        var bins = torch.randint(Bins, [count], dtype: ScalarType.Int64, generator: generator).to(ScalarType.Float32) / (Bins - 1);
        var sign = torch.rand([count], dtype: ScalarType.Float32, generator: generator).lt(0.5).to(ScalarType.Float32) * 2 - 1;
        return (ops.MoveToOuterDisposeScope(), (bins * sign).MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    public override Tensor Apply(Tensor images, Generator generator)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        long b = images.shape[0], height = images.shape[2], width = images.shape[3];
        var device = images.device;
        var (opsCpu, magCpu) = Draw(b, generator);
        var ops = opsCpu.to(device);
        var m = magCpu.to(device);
        Tensor Is(Operation op) => ops.eq((long)op);
        var x = images;

        // Geometric: one affine map per image (identity for images that drew another operation).
        var geometric = Is(Operation.ShearX).logical_or(Is(Operation.ShearY)).logical_or(Is(Operation.TranslateX))
            .logical_or(Is(Operation.TranslateY)).logical_or(Is(Operation.Rotate));
        if (geometric.any().item<bool>())
        {
            var zero = torch.zeros_like(m);
            var shearX = torch.where(Is(Operation.ShearX), m * 0.99, zero);
            var shearY = torch.where(Is(Operation.ShearY), m * 0.99, zero);
            // Translations of up to 32/224 of the side: in normalised coordinates 2 * 32 / 224.
            var tx = torch.where(Is(Operation.TranslateX), m * (64.0 / 224.0), zero);
            var ty = torch.where(Is(Operation.TranslateY), m * (64.0 / 224.0), zero);
            var angle = torch.where(Is(Operation.Rotate), m * (MaxDegrees * Math.PI / 180.0), zero);
            var cos = angle.cos();
            var sin = angle.sin();
            double rh = (double)height / width, rw = (double)width / height;
            // Rotation (aspect-corrected) then shear, in normalised output -> input coordinates.
            var a = cos + shearX * sin * rw;
            var bb = -sin * rh + shearX * cos;
            var d = sin * rw + shearY * cos;
            var e = cos - shearY * sin * rh;
            var warped = Warp(x, Theta(a, bb, tx, d, e, ty));
            x = torch.where(geometric.view(-1, 1, 1, 1), warped, x);
        }

        var factor = (1 + m * 0.99).view(-1, 1, 1, 1);
        x = Select(x, Is(Operation.Brightness), x * factor);
        if (x.shape[1] == 3)
        {
            var grey = Grey(x);
            x = Select(x, Is(Operation.Color), grey + (x - grey) * factor);
        }
        {
            var mean = Grey(x).mean([1, 2, 3], keepdim: true);
            x = Select(x, Is(Operation.Contrast), mean + (x - mean) * factor);
        }
        {
            var sharp = Is(Operation.Sharpness);
            if (sharp.any().item<bool>())
            {
                long c = x.shape[1];
                var kernel = torch.tensor(new float[] { 1, 1, 1, 1, 5, 1, 1, 1, 1 }, [1, 1, 3, 3], device: device) / 13f;
                var padded = nn.functional.pad(x, [1, 1, 1, 1], PaddingModes.Replicate);
                var blurred = nn.functional.conv2d(padded, kernel.expand(c, 1, 3, 3), groups: c);
                x = Select(x, sharp, blurred + (x - blurred) * factor);
            }
        }
        if (UnitRange)
        {
            x = x.clamp(0.0, 1.0);
            var mag = m.abs().view(-1, 1, 1, 1);
            // Posterize: keep 8 - round(6 |m|) bits of each 8-bit level.
            var shift = (mag * 6).round().exp2();
            var levels = (x * 255).round();
            x = Select(x, Is(Operation.Posterize), (levels / shift).floor() * shift / 255);
            // Solarize: invert the pixels at or above the threshold 1 - |m|.
            var threshold = 1 - mag;
            x = Select(x, Is(Operation.Solarize), torch.where(x.ge(threshold), 1 - x, x));
            // AutoContrast: each channel of each image stretched to [0, 1] (unchanged where it is flat).
            var low = x.amin([2, 3], keepdim: true);
            var high = x.amax([2, 3], keepdim: true);
            var span = high - low;
            var stretched = torch.where(span.gt(1e-6), (x - low) / span.clamp_min(1e-6), x);
            x = Select(x, Is(Operation.AutoContrast), stretched);
        }
        var result = ReferenceEquals(x, images) ? images.clone() : x;
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Select(Tensor x, Tensor mask, Tensor changed) => torch.where(mask.view(-1, 1, 1, 1), changed, x);

    private static Tensor Grey(Tensor x)
    {
        if (x.shape[1] != 3)
            return x.mean([1], keepdim: true);
        return x.narrow(1, 0, 1) * 0.299 + x.narrow(1, 1, 1) * 0.587 + x.narrow(1, 2, 1) * 0.114;
    }
}
