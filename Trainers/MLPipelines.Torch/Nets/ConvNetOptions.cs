namespace MLPipelines.Torch.Nets;

/// <summary>
/// Options of <see cref="ConvNet"/>: N blocks of conv3x3(pad 1) - BatchNorm (optional) - ReLU - maxpool 2, then global
/// average pooling, dropout (optional) and a linear head. Presets follow the course's three CNN experiments.
/// </summary>
public sealed record ConvNetOptions
{
    /// <summary>Preset name of <see cref="Plain3"/>.</summary>
    public const string Plain3Name = "Plain3";

    /// <summary>Preset name of <see cref="Bn4Dropout"/>.</summary>
    public const string Bn4DropoutName = "Bn4Dropout";

    /// <summary>Preset name of <see cref="Bn4DropoutAugmented"/>.</summary>
    public const string Bn4DropoutAugmentedName = "Bn4DropoutAugmented";

    /// <summary>The preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = [Plain3Name, Bn4DropoutName, Bn4DropoutAugmentedName];

    /// <summary>Input channels C (1 for grayscale, 3 for RGB). Default 1.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Input image height H. Default 64.</summary>
    public int ImageHeight { get; init; } = 64;

    /// <summary>Input image width W. Default 64.</summary>
    public int ImageWidth { get; init; } = 64;

    /// <summary>Output channels of each block; the number of entries is the number of blocks. Default 32-64-128-256.</summary>
    public IReadOnlyList<int> Channels { get; init; } = [32, 64, 128, 256];

    /// <summary>Whether each block has BatchNorm2d after its convolution (the convolution then has no bias). Default false.</summary>
    public bool BatchNorm { get; init; }

    /// <summary>Dropout probability before the linear head; 0 for none. Default 0.</summary>
    public double Dropout { get; init; }

    /// <summary>Number of classes K (outputs of the linear head, raw logits). Default 10.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>
    /// Whether the training loop should augment the training images (random flips/shifts). The network ignores it;
    /// it is carried here so that a preset fully describes an experiment. Default false.
    /// </summary>
    public bool Augment { get; init; }

    /// <summary>The preset this came from, or null for custom options.</summary>
    public string? PresetName { get; init; }

    /// <summary>Number of blocks N (= <see cref="Channels"/>.Count).</summary>
    public int Blocks => Channels.Count;

    /// <summary>Course experiment 1: 3 blocks (32-64-128), no BatchNorm, no dropout.</summary>
    /// <param name="numClasses">K.</param>
    /// <param name="inputChannels">C.</param>
    /// <param name="imageSize">H = W.</param>
    /// <returns>The options.</returns>
    public static ConvNetOptions Plain3(int numClasses, int inputChannels = 1, int imageSize = 64) => new()
    {
        PresetName = Plain3Name, NumClasses = numClasses, InputChannels = inputChannels, ImageHeight = imageSize, ImageWidth = imageSize,
        Channels = [32, 64, 128], BatchNorm = false, Dropout = 0,
    };

    /// <summary>Course experiment 2: 4 blocks (32-64-128-256) with BatchNorm and dropout (0.5 by default; the course also used 0.3).</summary>
    /// <param name="numClasses">K.</param>
    /// <param name="inputChannels">C.</param>
    /// <param name="imageSize">H = W.</param>
    /// <param name="dropout">Dropout before the head.</param>
    /// <returns>The options.</returns>
    public static ConvNetOptions Bn4Dropout(int numClasses, int inputChannels = 1, int imageSize = 64, double dropout = 0.5) => new()
    {
        PresetName = Bn4DropoutName, NumClasses = numClasses, InputChannels = inputChannels, ImageHeight = imageSize, ImageWidth = imageSize,
        Channels = [32, 64, 128, 256], BatchNorm = true, Dropout = dropout,
    };

    /// <summary>Course experiment 3: the <see cref="Bn4Dropout"/> network trained with data augmentation (<see cref="Augment"/> = true).</summary>
    /// <param name="numClasses">K.</param>
    /// <param name="inputChannels">C.</param>
    /// <param name="imageSize">H = W.</param>
    /// <param name="dropout">Dropout before the head.</param>
    /// <returns>The options.</returns>
    public static ConvNetOptions Bn4DropoutAugmented(int numClasses, int inputChannels = 1, int imageSize = 64, double dropout = 0.5) =>
        Bn4Dropout(numClasses, inputChannels, imageSize, dropout) with { PresetName = Bn4DropoutAugmentedName, Augment = true };

    /// <summary>The preset named <paramref name="name"/> (case-insensitive; see <see cref="PresetNames"/>).</summary>
    /// <param name="name">Preset name.</param>
    /// <param name="numClasses">K.</param>
    /// <param name="inputChannels">C.</param>
    /// <param name="imageSize">H = W.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">Unknown preset name.</exception>
    public static ConvNetOptions FromPreset(string name, int numClasses, int inputChannels = 1, int imageSize = 64) =>
        name?.ToLowerInvariant() switch
        {
            "plain3" => Plain3(numClasses, inputChannels, imageSize),
            "bn4dropout" => Bn4Dropout(numClasses, inputChannels, imageSize),
            "bn4dropoutaugmented" => Bn4DropoutAugmented(numClasses, inputChannels, imageSize),
            _ => throw new ArgumentException($"Unknown ConvNet preset '{name}'; known: {string.Join(", ", PresetNames)}.", nameof(name)),
        };

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> naming the first problem.</summary>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be >= 1 (got {InputChannels}).");
        if (NumClasses < 1) throw new ArgumentException($"NumClasses must be >= 1 (got {NumClasses}).");
        if (Channels is null || Channels.Count == 0) throw new ArgumentException("Channels needs at least one block.");
        if (Channels.Any(c => c < 1)) throw new ArgumentException("Every block needs at least one channel.");
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) throw new ArgumentException($"Dropout must be in [0, 1) (got {Dropout}).");
        long minSize = 1L << Math.Min(Channels.Count, 62);
        if (ImageHeight < minSize || ImageWidth < minSize)
            throw new ArgumentException($"{Channels.Count} blocks halve the image {Channels.Count} times: the image must be at least {minSize}x{minSize} (got {ImageHeight}x{ImageWidth}).");
    }
}
