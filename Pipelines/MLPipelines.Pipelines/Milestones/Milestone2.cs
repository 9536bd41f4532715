using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>
/// Options of <see cref="Milestone2"/>. Settings left null take the course's default for the task (two classes or
/// more); the rest have one default for both.
/// </summary>
public sealed class Milestone2Options
{
    /// <summary>Hidden layer widths; null for [128] with two classes and [128, 64] with more. The default value is null.</summary>
    public IReadOnlyList<int>? HiddenLayers { get; set; }

    /// <summary>Dropout after each hidden ReLU; null for 0 with two classes and 0.2 with more. The default value is null.</summary>
    public double? Dropout { get; set; }

    /// <summary>Maximum number of epochs; null for 100 with two classes and 150 with more. The default value is null.</summary>
    public int? Epochs { get; set; }

    /// <summary>The optimiser. The default value is <see cref="TorchOptimizerKind.Adam"/>.</summary>
    public TorchOptimizerKind Optimizer { get; set; } = TorchOptimizerKind.Adam;

    /// <summary>The initial learning rate. The default value is 0.001.</summary>
    public double LearningRate { get; set; } = 0.001;

    /// <summary>Rows per mini-batch. The default value is 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Weight decay (L2 for Adam and SGD, decoupled for AdamW). The default value is 1e-4.</summary>
    public double WeightDecay { get; set; } = 1e-4;

    /// <summary>The learning-rate schedule; null for a step schedule halving the rate every 40 epochs. The default value is null.</summary>
    public TorchLearningRateSchedule? Schedule { get; set; }

    /// <summary>
    /// Early-stopping patience in epochs on a stratified hold-out of the training split
    /// (<see cref="TorchClassifierTraining.DefaultEarlyStoppingHoldout"/>); 0 trains all epochs. The default value is 15.
    /// </summary>
    public int EarlyStoppingPatience { get; set; } = 15;

    /// <summary>
    /// Random shifts of the training images by up to this many pixels (<see cref="RandomCropWithPadding"/>), the
    /// Torch counterpart of Milestone 1's random shifts; 0 for none. The default value is 2.
    /// </summary>
    public int Shift { get; set; } = 2;

    /// <summary>
    /// Random affine augmentation of the training images (<see cref="RandomAffine"/>): the largest rotation in
    /// degrees; when this, <see cref="Zoom"/> or <see cref="Translate"/> is positive the affine map replaces
    /// <see cref="Shift"/>. The default value is 0.
    /// </summary>
    public double Rotation { get; set; }

    /// <summary>Random zoom of the affine augmentation: scale factors uniform in [1 - Zoom, 1 + Zoom]. The default value is 0.</summary>
    public double Zoom { get; set; }

    /// <summary>Random translation of the affine augmentation in pixels along each axis (continuous). The default value is 0.</summary>
    public double Translate { get; set; }

    /// <summary>Label smoothing of the training loss, in [0, 1). The default value is 0.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>"auto", "cpu", "cuda" or "cuda:N" (CUDA falls back to the CPU with a message). The default value is "auto".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>libtorch intra-op threads; 0 leaves libtorch's setting. The default value is 0.</summary>
    public int Threads { get; set; }

    /// <summary>Receives one report per epoch. The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>A shallow copy of these options.</summary>
    public Milestone2Options Clone() => (Milestone2Options)MemberwiseClone();

    /// <summary>Whether the affine augmentation is on (it then replaces the random shifts).</summary>
    public bool UsesAffine => Rotation > 0 || Zoom > 0 || Translate > 0;

    /// <summary>
    /// The options of a recipe: <see cref="MilestoneRecipe.Course"/> is <c>new Milestone2Options()</c> (the course's
    /// networks and settings); <see cref="MilestoneRecipe.Best"/> is the strongest recipe measured on splits of the
    /// training data (docs/milestones-1-2.md): 784-512-256-K ReLU, dropout 0.1, AdamW (lr 0.002, weight decay 1e-4),
    /// batch 64, 60 epochs of linear warm-up (3 epochs) and cosine annealing, random affine augmentation
    /// (±12°, zoom ±10%, ±2.5 px), label smoothing 0.1, no early stopping (every training image is used). Its
    /// preprocessing (per-image normalisation, background-randomised copies) is set on the experiment by
    /// <see cref="MilestoneRecipes.ApplyPreprocessing"/>.
    /// </summary>
    /// <param name="recipe">The recipe.</param>
    public static Milestone2Options For(MilestoneRecipe recipe) => recipe switch
    {
        MilestoneRecipe.Course => new Milestone2Options(),
        MilestoneRecipe.Best => new Milestone2Options
        {
            HiddenLayers = [512, 256],
            Dropout = 0.1,
            Epochs = 60,
            Optimizer = TorchOptimizerKind.AdamW,
            LearningRate = 0.002,
            WeightDecay = 1e-4,
            Schedule = TorchLearningRateSchedule.WarmupCosine(3, 0.0),
            EarlyStoppingPatience = 0,
            Shift = 0,
            Rotation = 12,
            Zoom = 0.1,
            Translate = 2.5,
            LabelSmoothing = 0.1,
        },
        _ => throw new ArgumentException($"Unknown recipe {recipe}.", nameof(recipe)),
    };

    /// <summary>The hidden layers used for a task.</summary>
    /// <param name="binary">Two classes.</param>
    public IReadOnlyList<int> HiddenFor(bool binary) => HiddenLayers ?? (binary ? [128] : [128, 64]);

    /// <summary>The dropout used for a task.</summary>
    /// <param name="binary">Two classes.</param>
    public double DropoutFor(bool binary) => Dropout ?? (binary ? 0 : 0.2);

    /// <summary>The number of epochs used for a task.</summary>
    /// <param name="binary">Two classes.</param>
    public int EpochsFor(bool binary) => Epochs ?? (binary ? 100 : 150);

    /// <summary>The trainer options for a task.</summary>
    /// <param name="binary">Two classes.</param>
    /// <param name="imageShape">[C, H, W] of the feature vector.</param>
    /// <param name="seed">Seed of initialisation, shuffling, augmentation, dropout and the hold-out.</param>
    /// <param name="log">Receives informational messages (device fallback).</param>
    public TorchTrainerOptions ToTrainerOptions(bool binary, int[] imageShape, int seed, IProgress<string>? log = null)
    {
        if (Shift < 0)
            throw new ArgumentException($"Shift must be non-negative, got {Shift}.", nameof(Shift));
        if (!(Rotation >= 0 && Rotation <= 180))
            throw new ArgumentException($"Rotation must be in [0, 180], got {Rotation}.", nameof(Rotation));
        if (!(Zoom >= 0 && Zoom < 1))
            throw new ArgumentException($"Zoom must be in [0, 1), got {Zoom}.", nameof(Zoom));
        if (!(Translate >= 0) || double.IsInfinity(Translate))
            throw new ArgumentException($"Translate must be non-negative and finite, got {Translate}.", nameof(Translate));
        var epochs = EpochsFor(binary);
        return new TorchTrainerOptions
        {
            ImageShape = imageShape,
            Optimizer = Optimizer,
            LearningRate = LearningRate,
            BatchSize = BatchSize,
            WeightDecay = WeightDecay,
            Schedule = Schedule ?? TorchLearningRateSchedule.Step(40, 0.5),
            Epochs = epochs,
            EarlyStoppingPatience = EarlyStoppingPatience,
            Seed = seed,
            Threads = Threads,
            Device = Device,
            LabelSmoothing = LabelSmoothing,
            Augmentation = UsesAffine ? [new RandomAffine(Rotation, 1 - Zoom, 1 + Zoom, Translate)]
                : Shift > 0 ? [new RandomCropWithPadding(Shift)] : [],
            Progress = Progress,
            Log = log,
        };
    }
}

/// <summary>
/// Milestone 2: the course's MLPs in TorchSharp inside the same ML.NET chain as Milestone 1 (images → 28x28 grey
/// pixels → standardisation → network): two classes train 784-128-2 (ReLU, softmax cross-entropy), more train
/// 784-128-64-K (ReLU, dropout 0.2); Adam (lr 0.001), batch 64, step schedule, early stopping on a hold-out of
/// the training split and random shifts of up to 2 pixels.
/// </summary>
public static class Milestone2
{
    /// <summary>Runs the milestone.</summary>
    /// <param name="experiment">Dataset, split and output options (Producer "m2" when left at "m1").</param>
    /// <param name="options">Network and training options; null for the defaults.</param>
    /// <param name="log">Receives one line per stage.</param>
    public static ExperimentResult Run(ExperimentOptions experiment, Milestone2Options? options = null, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var o = options ?? new Milestone2Options();
        var run = experiment.Clone();
        if (run.Producer == "m1")
            run.Producer = "m2";
        var shape = ImageClassificationExperiment.ImageShape(run);
        var inputs = shape[0] * shape[1] * shape[2];
        return ImageClassificationExperiment.Run(run, (train, validation, binary, classes) =>
        {
            var hidden = o.HiddenFor(binary);
            var dropout = o.DropoutFor(binary);
            var trainer = o.ToTrainerOptions(binary, shape, run.Seed, log);
            var step = TorchClassifierTraining.Create((_, outputs) => nn.Sequential(
                ("flatten", nn.Flatten()),
                ("mlp", MlpNet.Create([inputs, .. hidden, outputs], dropout))), trainer);
            var trained = step(train, validation, binary, classes);
            var details = new Dictionary<string, object>(trained.Details!)
            {
                ["network"] = string.Join("-", new[] { inputs }.Concat(hidden).Append(binary ? 2 : classes.Count)),
                ["dropout"] = dropout,
            };
            return trained with { Details = details };
        }, log);
    }
}
