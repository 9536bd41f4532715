using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers.Torch;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>Options of <see cref="Milestone3Cnn"/>.</summary>
public sealed class Milestone3CnnOptions
{
    /// <summary>
    /// The course experiment: "plain3" (3 conv blocks), "bn4-dropout" (4 blocks, BatchNorm, dropout 0.5) or
    /// "bn4-dropout-augmented" (the same, trained with augmentation). The default value is "bn4-dropout-augmented".
    /// </summary>
    public string Preset { get; set; } = "bn4-dropout-augmented";

    /// <summary>Passes over the training data. The default value is 40.</summary>
    public int Epochs { get; set; } = 40;

    /// <summary>The optimiser. The default value is <see cref="TorchOptimizerKind.AdamW"/>.</summary>
    public TorchOptimizerKind Optimizer { get; set; } = TorchOptimizerKind.AdamW;

    /// <summary>The initial learning rate. The default value is 0.002.</summary>
    public double LearningRate { get; set; } = 0.002;

    /// <summary>Weight decay (decoupled for AdamW). The default value is 0.01.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Rows per mini-batch. The default value is 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>The learning-rate schedule; null for cosine annealing to 1e-5 over all epochs. The default value is null.</summary>
    public TorchLearningRateSchedule? Schedule { get; set; }

    /// <summary>Early-stopping patience on a hold-out of the training split; 0 trains all epochs. The default value is 0.</summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Random horizontal flips for the augmented preset; null decides by dataset: on for Stanford Cars, off for
    /// hand signs (a mirrored sign may mean something else). The default value is null.
    /// </summary>
    public bool? HorizontalFlip { get; set; }

    /// <summary>Dropout before the head of the BatchNorm presets. The default value is 0.5.</summary>
    public double Dropout { get; set; } = 0.5;

    /// <summary>"auto", "cpu", "cuda" or "cuda:N" (CUDA falls back to the CPU with a message). The default value is "auto".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>libtorch intra-op threads; 0 leaves libtorch's setting. The default value is 0.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Arithmetic of the training passes (see <see cref="TorchTrainingSettings.Precision"/>): bfloat16 mixed precision with
    /// float32 master weights, or float32. The exported model is float32 either way. The default value is <see cref="TorchPrecision.Float32"/>.
    /// </summary>
    public TorchPrecision Precision { get; set; } = TorchTrainingSettings.Defaults.Precision;

    /// <summary>Channels-last (NHWC) images and convolution weights in training (see <see cref="TorchTrainingSettings.ChannelsLast"/>). The default value is false.</summary>
    public bool ChannelsLast { get; set; } = TorchTrainingSettings.Defaults.ChannelsLast;

    /// <summary>Receives one report per epoch. The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>The preset names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["plain3", "bn4-dropout", "bn4-dropout-augmented"];

    /// <summary>A shallow copy of these options.</summary>
    public Milestone3CnnOptions Clone() => (Milestone3CnnOptions)MemberwiseClone();

    /// <summary>The network for a task.</summary>
    /// <param name="classes">Number of outputs (2 for binary tasks).</param>
    /// <param name="channels">Input channels.</param>
    /// <param name="imageSize">Input side.</param>
    /// <exception cref="ArgumentException">Unknown preset (the message lists the known ones).</exception>
    public ConvNetOptions Network(int classes, int channels, int imageSize) =>
        NormalisePreset(Preset) switch
        {
            "plain3" => ConvNetOptions.Plain3(classes, channels, imageSize),
            "bn4-dropout" => ConvNetOptions.Bn4Dropout(classes, channels, imageSize, Dropout),
            _ => ConvNetOptions.Bn4DropoutAugmented(classes, channels, imageSize, Dropout),
        };

    /// <summary>The augmentations of the preset: none for the plain presets; for the augmented one random crops with
    /// padding (image size / 16), rotations up to 10 degrees, brightness/contrast (and saturation for RGB) jitter, and
    /// horizontal flips when <paramref name="flip"/>.</summary>
    /// <param name="network">The network options (preset, channels, size).</param>
    /// <param name="flip">Whether to flip horizontally.</param>
    /// <param name="unitRange">Whether the pixels are in [0, 1] (then the colour jitter clamps to it; not for standardised pixels).</param>
    public static IReadOnlyList<TorchAugmentation> Augmentations(ConvNetOptions network, bool flip, bool unitRange = true)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (!network.Augment)
            return [];
        var list = new List<TorchAugmentation>();
        if (flip)
            list.Add(new HorizontalFlip());
        list.Add(new RandomCropWithPadding(Math.Max(1, network.ImageHeight / 16)));
        list.Add(new SmallRotation(10));
        list.Add(new ColorJitter(0.2, 0.2, network.InputChannels == 3 ? 0.2 : 0, clampToUnitRange: unitRange));
        return list;
    }

    /// <summary>The canonical preset name ("plain3", "bn4-dropout" or "bn4-dropout-augmented") for any spelling of it.</summary>
    /// <param name="preset">A preset name such as "Bn4DropoutAugmented" or "bn4-dropout-augmented".</param>
    /// <exception cref="ArgumentException">Unknown preset.</exception>
    public static string NormalisePreset(string preset)
    {
        var key = (preset ?? "").Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        return key switch
        {
            "plain3" => "plain3",
            "bn4dropout" => "bn4-dropout",
            "bn4dropoutaugmented" => "bn4-dropout-augmented",
            _ => throw new ArgumentException($"Unknown CNN preset '{preset}'; known: {string.Join(", ", PresetNames)}.", nameof(Preset)),
        };
    }
}

/// <summary>
/// Milestone 3: the course's CNNs (<see cref="ConvNet"/> presets) in TorchSharp inside the ML.NET image experiment:
/// images → S x S pixels (RGB or grey) / 255 → ConvNet. Works for sign-language digits and Stanford Cars (or any
/// dataset the experiment can load).
/// </summary>
public static class Milestone3Cnn
{
    /// <summary>The experiment options the CNN expects by default: 64 px RGB, plain pixels / 255 (no standardisation).</summary>
    /// <param name="dataset">Dataset folder name.</param>
    public static ExperimentOptions DefaultExperiment(string dataset) => new()
    {
        Dataset = dataset,
        ImageSize = 64,
        Grayscale = false,
        Standardize = false,
        Producer = "m3-cnn",
        OutputDirectory = Path.Combine("runs", "m3-cnn"),
    };

    /// <summary>Runs the experiment.</summary>
    /// <param name="experiment">Dataset, split, preprocessing and output options.</param>
    /// <param name="options">Network and training options; null for the defaults.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions experiment, Milestone3CnnOptions? options = null, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var o = options ?? new Milestone3CnnOptions();
        Milestone3CnnOptions.NormalisePreset(o.Preset);
        var shape = ImageClassificationExperiment.ImageShape(experiment);
        var flip = o.HorizontalFlip ?? string.Equals(experiment.Dataset, StanfordCars.FolderName, StringComparison.OrdinalIgnoreCase);
        return ImageClassificationExperiment.Run(experiment, (train, validation, binary, classes) =>
        {
            var outputs = binary ? 2 : classes.Count;
            var network = o.Network(outputs, shape[0], shape[1]);
            network.Validate();
            var trainer = new TorchTrainerOptions
            {
                ImageShape = shape,
                Optimizer = o.Optimizer,
                LearningRate = o.LearningRate,
                WeightDecay = o.WeightDecay,
                BatchSize = o.BatchSize,
                Epochs = o.Epochs,
                Schedule = o.Schedule ?? TorchLearningRateSchedule.Cosine(1e-5),
                EarlyStoppingPatience = o.EarlyStoppingPatience,
                Seed = experiment.Seed,
                Threads = o.Threads,
                Precision = o.Precision,
                ChannelsLast = o.ChannelsLast,
                Device = o.Device,
                Augmentation = Milestone3CnnOptions.Augmentations(network, flip, unitRange: !experiment.Standardize),
                Progress = o.Progress,
                Log = log,
            };
            var trained = TorchClassifierTraining.Create((_, _) => ConvNet.Create(network), trainer)(train, validation, binary, classes);
            var details = new Dictionary<string, object>(trained.Details!)
            {
                ["network"] = $"ConvNet {string.Join("-", network.Channels)}{(network.BatchNorm ? " BN" : "")}{(network.Dropout > 0 ? $" dropout {network.Dropout}" : "")}",
                ["preset"] = Milestone3CnnOptions.NormalisePreset(o.Preset),
                ["horizontal_flip"] = network.Augment && flip,
                ["precision"] = o.Precision.ToString(),
                ["channels_last"] = o.ChannelsLast,
            };
            return trained with { Details = details };
        }, log);
    }
}
