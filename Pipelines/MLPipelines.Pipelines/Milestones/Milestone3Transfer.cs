using System.Globalization;
using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>The head <c>m3-transfer</c> puts on the backbone.</summary>
public enum TransferHead
{
    /// <summary>A linear layer (with bias) on the embedding: the course's head.</summary>
    Linear,

    /// <summary>A cosine classifier with an additive margin on the L2-normalised embedding (<see cref="CosineHead"/>): one network for classification and retrieval.</summary>
    Cosine,
}

/// <summary>
/// The settings of one <see cref="Milestone3Transfer"/> run, every value decided: a recipe
/// (<see cref="Milestone3Transfer.CourseRecipe"/>, <see cref="Milestone3Transfer.BestRecipe"/>) with the caller's overrides
/// (<see cref="TransferOptions.Resolve"/>).
/// </summary>
/// <param name="Strategy">The transfer strategy.</param>
/// <param name="Epochs">Epochs.</param>
/// <param name="BatchSize">Rows per batch.</param>
/// <param name="LearningRate">Adam's learning rate (the backbone's).</param>
/// <param name="Schedule">Learning-rate schedule.</param>
/// <param name="HeadLearningRateMultiplier">The head's learning rate relative to the backbone's.</param>
/// <param name="LabelSmoothing">Label smoothing of the training loss.</param>
/// <param name="TestTimeHorizontalFlip">Mirror-image test-time augmentation compiled into the model.</param>
/// <param name="Dropout">Dropout before the head.</param>
/// <param name="Augment">Random resized crops (area <paramref name="MinCropScale"/> to 1) and horizontal flips on the training batches.</param>
/// <param name="CosineHead">The cosine head's settings, or null for a linear head.</param>
/// <param name="Precision">Arithmetic of the training passes (the saved model is float32 either way).</param>
/// <param name="ChannelsLast">Channels-last (NHWC) images and convolution weights in training.</param>
/// <param name="MinCropScale">The smallest area fraction of the random resized crops (with <paramref name="Augment"/>).</param>
/// <param name="Mixing">MixUp/CutMix of the training batches, or null for none.</param>
public sealed record TransferSettings(TransferStrategy Strategy, int Epochs, int BatchSize, double LearningRate, TorchLearningRateSchedule Schedule,
    double HeadLearningRateMultiplier, double LabelSmoothing, bool TestTimeHorizontalFlip, double Dropout, bool Augment, CosineHead? CosineHead,
    TorchPrecision Precision, bool ChannelsLast, double MinCropScale = Milestone3Transfer.DefaultMinCropScale, MixUpCutMix? Mixing = null);

/// <summary>
/// Options of <see cref="Milestone3Transfer"/>: a <see cref="Recipe"/> and overrides of it. Every setting left null takes
/// the recipe's value, decided once by <see cref="Resolve"/>.
/// </summary>
public sealed class TransferOptions
{
    /// <summary>
    /// The recipe the settings start from: <see cref="MilestoneRecipe.Best"/> (<see cref="Milestone3Transfer.BestRecipe"/>:
    /// fine-tuning with a cosine head, warm-up + cosine, label smoothing, mirrored test-time augmentation) or
    /// <see cref="MilestoneRecipe.Course"/> (<see cref="Milestone3Transfer.CourseRecipe"/>: the course's frozen backbone,
    /// Adam 0.001, StepLR(7, 0.1), linear head). The default value is <see cref="MilestoneRecipe.Best"/>.
    /// </summary>
    public MilestoneRecipe Recipe { get; set; } = MilestoneRecipe.Best;

    /// <summary>"resnet18", "resnet50" or "densenet121". The default value is "resnet18".</summary>
    public string Backbone { get; set; } = "resnet18";

    /// <summary>The transfer strategy; null for the recipe's. The default value is null.</summary>
    public TransferStrategy? Strategy { get; set; }

    /// <summary>
    /// Pretrained weights: ML.NET's ResNet18.onnx (resnet18 only; it has the CNTK layout [2, 2, 2, 3]), a torchvision
    /// state dict (.pth/.pt/.safetensors), or "none" for random initialisation. Null: resnet18 uses ML.NET's ResNet18.onnx
    /// found beside the application or in the NuGet cache; the others start from random weights (with a warning, since
    /// pretrained ResNet-50/DenseNet-121 files cannot be downloaded here). The default value is null.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>Epochs; null for the recipe's. The default value is null.</summary>
    public int? Epochs { get; set; }

    /// <summary>Rows per batch; null for the recipe's. The default value is null.</summary>
    public int? BatchSize { get; set; }

    /// <summary>Adam's learning rate; null for the recipe's. The default value is null.</summary>
    public double? LearningRate { get; set; }

    /// <summary>StepLR step size in epochs (gamma 0.1); when set without <see cref="Schedule"/>, the schedule is StepLR. The default value is null.</summary>
    public int? StepSize { get; set; }

    /// <summary>Warm-up epochs of a warm-up + cosine schedule; when set without <see cref="Schedule"/>, the schedule is <see cref="TorchLearningRateSchedule.WarmupCosine"/>(this, <see cref="Milestone3Transfer.WarmupCosineMinFactor"/>). The default value is null.</summary>
    public int? WarmupEpochs { get; set; }

    /// <summary>Learning-rate schedule; null for the recipe's (or the one <see cref="StepSize"/> or <see cref="WarmupEpochs"/> implies). The default value is null.</summary>
    public TorchLearningRateSchedule? Schedule { get; set; }

    /// <summary>The head's learning rate relative to the backbone's (see <see cref="TorchTransferOptions.HeadLearningRateMultiplier"/>); null for the recipe's. The default value is null.</summary>
    public double? HeadLearningRateMultiplier { get; set; }

    /// <summary>Label smoothing of the training loss (see <see cref="TorchTrainingSettings.LabelSmoothing"/>); null for the recipe's. The default value is null.</summary>
    public double? LabelSmoothing { get; set; }

    /// <summary>Compile mirror-image test-time augmentation into the model (see <see cref="TorchTrainerOptions.TestTimeHorizontalFlip"/>); null for the recipe's. The default value is null.</summary>
    public bool? TestTimeHorizontalFlip { get; set; }

    /// <summary>Dropout before the head; null: 0.5 for fine-tuning and progressive unfreezing, 0 for a frozen backbone. The default value is null.</summary>
    public double? Dropout { get; set; }

    /// <summary>Augment the training batches (random resized crops and horizontal flips); null: on unless frozen. The default value is null.</summary>
    public bool? Augment { get; set; }

    /// <summary>
    /// The smallest area fraction, in (0, 1], of the random resized crops when augmenting; null for the recipe's
    /// (<see cref="Milestone3Transfer.DefaultMinCropScale"/> in both). The default value is null.
    /// </summary>
    public double? MinCropScale { get; set; }

    /// <summary>α of MixUp's Beta(α, α) on the training batches (0 = off); null for the recipe's (0 in both). The default value is null.</summary>
    public double? MixupAlpha { get; set; }

    /// <summary>α of CutMix's Beta(α, α) on the training batches (0 = off); with MixUp as well, one of the two per batch; null for the recipe's (0 in both). The default value is null.</summary>
    public double? CutmixAlpha { get; set; }

    /// <summary>
    /// Early-stopping patience in epochs; 0 trains every epoch and records the validation split per epoch. When positive,
    /// the trainer holds out a stratified <see cref="TorchClassifierTraining.DefaultEarlyStoppingHoldout"/> of the
    /// training split, records its loss and accuracy per epoch, stops after this many epochs without a lower hold-out
    /// loss and keeps the weights of the epoch with the lowest: a way to choose settings without looking at the reported
    /// split (a large value never stops). The default value is 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>The head; null for the recipe's. The default value is null.</summary>
    public TransferHead? Head { get; set; }

    /// <summary>The cosine head's additive margin (<see cref="CosineHead.Margin"/>); null: <see cref="CosineHead.Defaults.Margin"/>. Only with a cosine head. The default value is null.</summary>
    public double? Margin { get; set; }

    /// <summary>The cosine head's scale (<see cref="CosineHead.Scale"/>); null: <see cref="CosineHead.Defaults.Scale"/>. Only with a cosine head. The default value is null.</summary>
    public double? Scale { get; set; }

    /// <summary>Epochs at which progressive unfreezing adds the next stage. The default value is [3, 5, 7, 9, 11].</summary>
    public IReadOnlyList<int> UnfreezeEpochs { get; set; } = [3, 5, 7, 9, 11];

    /// <summary>libtorch threads (0 leaves the setting). The default value is 0.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Arithmetic of the training passes (see <see cref="TorchTrainingSettings.Precision"/>): bfloat16 mixed precision with
    /// float32 master weights, or float32. The exported model is float32 either way. Null for the recipe's (best:
    /// bfloat16 mixed; course: float32). The default value is null.
    /// </summary>
    public TorchPrecision? Precision { get; set; }

    /// <summary>
    /// Channels-last (NHWC) images and convolution weights in training (see <see cref="TorchTrainingSettings.ChannelsLast"/>);
    /// null for the recipe's (best: true; course: false). The default value is null.
    /// </summary>
    public bool? ChannelsLast { get; set; }

    /// <summary>Receives one report per epoch. The default value is null.</summary>
    public IProgress<EpochRecord>? Progress { get; set; }

    /// <summary>
    /// The settings of the run: the recipe's, with every non-null override. Throws <see cref="ArgumentException"/> naming
    /// the option when a value is invalid (e.g. a margin with a linear head).
    /// </summary>
    public TransferSettings Resolve()
    {
        var recipe = Recipe switch
        {
            MilestoneRecipe.Course => Milestone3Transfer.CourseRecipe,
            MilestoneRecipe.Best => Milestone3Transfer.BestRecipe,
            _ => throw new ArgumentException($"Recipe {Recipe} is not Course or Best.", nameof(Recipe)),
        };
        var strategy = Strategy ?? recipe.Strategy;
        bool frozen = strategy == TransferStrategy.Frozen;
        var schedule = Schedule
            ?? (StepSize is { } step ? TorchLearningRateSchedule.Step(step, 0.1)
                : WarmupEpochs is { } warmup ? TorchLearningRateSchedule.WarmupCosine(warmup, Milestone3Transfer.WarmupCosineMinFactor)
                : recipe.Schedule);
        var head = Head ?? (recipe.CosineHead is null ? TransferHead.Linear : TransferHead.Cosine);
        if (head == TransferHead.Linear && Margin is not null)
            throw new ArgumentException("Margin applies to the cosine head only.", nameof(Margin));
        if (head == TransferHead.Linear && Scale is not null)
            throw new ArgumentException("Scale applies to the cosine head only.", nameof(Scale));
        CosineHead? cosine = null;
        if (head == TransferHead.Cosine)
        {
            cosine = recipe.CosineHead?.Clone() ?? new CosineHead();
            cosine.Margin = Margin ?? cosine.Margin;
            cosine.Scale = Scale ?? cosine.Scale;
            cosine.Validate();
        }
        double mixup = MixupAlpha ?? recipe.Mixing?.MixupAlpha ?? 0, cutmix = CutmixAlpha ?? recipe.Mixing?.CutmixAlpha ?? 0;
        if (!(mixup >= 0) || double.IsInfinity(mixup)) throw new ArgumentException($"MixupAlpha must be non-negative and finite, got {mixup}.", nameof(MixupAlpha));
        if (!(cutmix >= 0) || double.IsInfinity(cutmix)) throw new ArgumentException($"CutmixAlpha must be non-negative and finite, got {cutmix}.", nameof(CutmixAlpha));
        var mixing = MixupAlpha is null && CutmixAlpha is null ? recipe.Mixing
            : mixup > 0 || cutmix > 0 ? new MixUpCutMix(mixup, cutmix) : null;
        var settings = new TransferSettings(
            strategy,
            Epochs ?? recipe.Epochs,
            BatchSize ?? recipe.BatchSize,
            LearningRate ?? recipe.LearningRate,
            schedule,
            HeadLearningRateMultiplier ?? recipe.HeadLearningRateMultiplier,
            LabelSmoothing ?? recipe.LabelSmoothing,
            TestTimeHorizontalFlip ?? recipe.TestTimeHorizontalFlip,
            Dropout ?? (frozen ? 0 : recipe.Dropout),
            Augment ?? (!frozen && recipe.Augment),
            cosine,
            Precision ?? recipe.Precision,
            ChannelsLast ?? recipe.ChannelsLast,
            MinCropScale ?? recipe.MinCropScale,
            mixing);
        if (settings.Epochs < 1) throw new ArgumentException($"Epochs must be positive, got {settings.Epochs}.", nameof(Epochs));
        if (settings.BatchSize < 2) throw new ArgumentException($"BatchSize must be at least 2, got {settings.BatchSize}.", nameof(BatchSize));
        if (!(settings.Dropout >= 0 && settings.Dropout < 1)) throw new ArgumentException($"Dropout must be in [0, 1), got {settings.Dropout}.", nameof(Dropout));
        if (MinCropScale is not null && !settings.Augment)
            throw new ArgumentException("MinCropScale applies to augmented training only (augmentation is off: Augment = false or a frozen backbone).", nameof(MinCropScale));
        if (!(settings.MinCropScale > 0 && settings.MinCropScale <= 1)) throw new ArgumentException($"MinCropScale must be in (0, 1], got {settings.MinCropScale}.", nameof(MinCropScale));
        if (EarlyStoppingPatience < 0) throw new ArgumentException($"EarlyStoppingPatience must be non-negative, got {EarlyStoppingPatience}.", nameof(EarlyStoppingPatience));
        return settings;
    }
}

/// <summary>
/// Milestone 3: transfer learning. A pretrained backbone (<see cref="ResNet"/> or <see cref="DenseNet"/>) with a new
/// head, trained with a frozen backbone, full fine-tuning or progressive unfreezing inside the ML.NET chain of
/// <see cref="ImageClassificationExperiment"/> (RGB pixels / 255 → the network; the backbone's input normalisation is part
/// of the exported ONNX graph). Reads an image-folder dataset or Stanford Cars' CSV layout (<c>anno_train.csv</c>,
/// <c>names.csv</c>, <c>cars_train/</c>).
/// </summary>
public static class Milestone3Transfer
{
    /// <summary>
    /// Epochs of <see cref="BestRecipe"/>: 15 epochs of 224-px fine-tuning take about an hour on the 2-core development
    /// machine (about 240 s per epoch on 5,288 images in bf16 + channels-last, validation included); the figures in
    /// docs/transfer.md were measured with this value.
    /// </summary>
    public const int BestEpochs = 15;

    /// <summary>
    /// Adam's learning rate of <see cref="BestRecipe"/> (the backbone's; the head's is 10x): 3e-4, chosen over 1e-4 on a
    /// hold-out of the training split (10 %, 160 px, 10 epochs; docs/transfer.md).
    /// </summary>
    public const double BestLearningRate = 3e-4;

    /// <summary>Warm-up epochs of <see cref="BestRecipe"/>'s warm-up + cosine schedule.</summary>
    public const int BestWarmupEpochs = 2;

    /// <summary>The smallest area fraction of the random resized crops of both recipes (crops of 80-100 % of the image).</summary>
    public const double DefaultMinCropScale = 0.8;

    /// <summary>The last epoch's learning rate of a warm-up + cosine schedule, as a fraction of the initial one (so that the last epoch still trains).</summary>
    public const double WarmupCosineMinFactor = 0.01;

    /// <summary>
    /// The course's settings (<c>--recipe course</c>; the historical defaults of <c>m3-transfer</c>): a frozen backbone
    /// (dropout 0.5 and augmentation when fine-tuned), Adam 0.001, StepLR(7, 0.1), batch 32, 10 epochs, a linear head,
    /// no label smoothing, no test-time augmentation.
    /// </summary>
    public static TransferSettings CourseRecipe { get; } = new(
        TransferStrategy.Frozen, 10, 32, 1e-3, TorchLearningRateSchedule.Step(7, 0.1), 1, 0, false, 0.5, true, null,
        TorchPrecision.Float32, false);

    /// <summary>
    /// The project's recipe (<c>--recipe best</c>, the default): full fine-tuning, Adam <see cref="BestLearningRate"/>
    /// (3e-4) for the backbone and 3e-3 for the head (multiplier 10), <see cref="BestWarmupEpochs"/> epochs of linear warm-up then cosine to
    /// <see cref="WarmupCosineMinFactor"/>, <see cref="BestEpochs"/> epochs, batch 32, label smoothing 0.1, dropout 0.5,
    /// random resized crops and flips, mirrored test-time augmentation, and a cosine head with an additive margin
    /// (<see cref="CosineHead.Defaults"/>), so the same model.zip serves <c>m3-knn</c> as a retrieval backbone; trained in
    /// bfloat16 mixed precision with channels-last tensors (2.07x the float32 images/s in one run of the
    /// <c>transfer-throughput</c> benchmark; float32 master weights, float32 model).
    /// </summary>
    public static TransferSettings BestRecipe { get; } = new(
        TransferStrategy.FineTune, BestEpochs, 32, BestLearningRate, TorchLearningRateSchedule.WarmupCosine(BestWarmupEpochs, WarmupCosineMinFactor),
        10, 0.1, true, 0.5, true, new CosineHead(), TorchPrecision.BFloat16Mixed, true);

    /// <summary>Runs the milestone.</summary>
    /// <param name="experiment">Dataset folder (<see cref="ExperimentOptions.DataRoot"/> is the dataset folder itself), split and output options; grayscale and standardisation are turned off.</param>
    /// <param name="transfer">Backbone, weights and strategy.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <returns>The experiment's result.</returns>
    public static ExperimentResult Run(ExperimentOptions experiment, TransferOptions transfer, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(transfer);
        var run = experiment.Clone();
        run.Grayscale = false;
        run.Standardize = false;
        run.Loader ??= (f, c) => StanfordCars.Load(f, c);   // CSV layout, or one folder per class (--test-data too)
        string backboneName = transfer.Backbone.Trim().ToLowerInvariant();
        string? weights = ResolveWeights(backboneName, transfer.Weights, log);
        var settings = transfer.Resolve();
        double dropout = settings.Dropout;
        bool augment = settings.Augment;
        int size = run.ImageSize;
        var schedule = settings.Schedule;
        var cosine = settings.CosineHead;

        // Built and validated before any image is decoded, so a bad option fails at once, naming it.
        var options = new TorchTrainerOptions
        {
            ImageShape = [3, size, size],
            Optimizer = TorchOptimizerKind.Adam,
            LearningRate = settings.LearningRate,
            LabelSmoothing = settings.LabelSmoothing,
            TestTimeHorizontalFlip = settings.TestTimeHorizontalFlip,
            Schedule = schedule,
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            Seed = run.Seed,
            Threads = transfer.Threads,
            Precision = settings.Precision,
            ChannelsLast = settings.ChannelsLast,
            Device = "cpu",
            Augmentation = augment ? [new RandomResizedCrop(settings.MinCropScale, 1.0), new HorizontalFlip()] : [],
            Mixing = settings.Mixing,
            EarlyStoppingPatience = transfer.EarlyStoppingPatience,
            ValidationFraction = transfer.EarlyStoppingPatience > 0 ? TorchClassifierTraining.DefaultEarlyStoppingHoldout : 0,
            Transfer = new TorchTransferOptions
            {
                Strategy = settings.Strategy,
                UnfreezeEpochs = transfer.UnfreezeEpochs,
                HeadLearningRateMultiplier = settings.HeadLearningRateMultiplier,
            },
            Progress = transfer.Progress,
            Log = log,
        };
        options.Validate();
        var details = new Dictionary<string, object>
        {
            ["backbone"] = backboneName,
            ["recipe"] = transfer.Recipe.ToString().ToLowerInvariant(),
            ["strategy"] = settings.Strategy.ToString(),
            ["weights"] = weights ?? "none",
            ["dropout"] = dropout,
            ["augment"] = augment,
            ["min_crop_scale"] = settings.MinCropScale,
            ["mixing"] = settings.Mixing?.ToString() ?? "none",
            ["early_stopping_patience"] = transfer.EarlyStoppingPatience,
            ["learning_rate"] = settings.LearningRate,
            ["head_lr_multiplier"] = settings.HeadLearningRateMultiplier,
            ["label_smoothing"] = settings.LabelSmoothing,
            ["test_time_flip"] = settings.TestTimeHorizontalFlip,
            ["schedule"] = schedule.ToString(),
            ["epochs"] = settings.Epochs,
            ["batch_size"] = settings.BatchSize,
            ["head"] = cosine is null ? "linear" : "cosine",
            ["head_scale"] = cosine?.Scale ?? 0,
            ["head_margin"] = cosine?.Margin ?? 0,
            ["precision"] = settings.Precision.ToString(),
            ["channels_last"] = settings.ChannelsLast,
        };

        return ImageClassificationExperiment.Run(run, ExperimentData.Load(run), (train, validation, binary, classNames) =>
        {
            int k = binary ? 2 : classNames.Count;
            nn.Module<Tensor, Tensor> Factory() => CreateBackbone(backboneName, weights, k, dropout, log, cosine);
            TorchTrainerBase trainer = binary ? new TorchBinaryTrainer(Factory, options) : new TorchMulticlassTrainer(Factory, options);
            bool stopsEarly = options.EarlyStoppingPatience > 0; // per-epoch figures then come from a hold-out of the training split
            TorchModel model = stopsEarly ? trainer.Fit(train) : trainer.Fit(train, validation);
            if (stopsEarly)
            {
                details["early_stopping_holdout"] = options.ValidationFraction;
                details["stopped_early"] = model.History.StoppedEarly;
            }
            return new TrainedClassifier(model, model.History.Epochs, stopsEarly ? model.History.BestEpoch : null, model.TrainSeconds, model.ImagesPerSecond) { Details = details };
        }, log);
    }

    /// <summary>Creates the backbone with its weights and a new head.</summary>
    /// <param name="name">"resnet18", "resnet50" or "densenet121".</param>
    /// <param name="weights">Weights file (.onnx for ML.NET's ResNet-18, otherwise a torchvision state dict) or null for random initialisation.</param>
    /// <param name="classes">Outputs of the new head.</param>
    /// <param name="dropout">Dropout before the head.</param>
    /// <param name="log">Receives a line about the weights.</param>
    /// <param name="cosineHead">A cosine head's settings, or null for a linear head.</param>
    /// <returns>The network (RGB pixels / 255 input).</returns>
    public static TorchBackbone CreateBackbone(string name, string? weights, int classes, double dropout, IProgress<string>? log = null, CosineHead? cosineHead = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (weights is not null && weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (name != "resnet18")
                throw new ArgumentException($"An ONNX weights file (ML.NET's ResNet18.onnx) only fits resnet18, not {name}.", nameof(weights));
            log?.Report($"Weights: ML.NET's pretrained ResNet-18 from {weights} (CNTK layout, blocks [2, 2, 2, 3])");
            var mlnet = PretrainedWeights.CreateMlNetResNet18(weights, classes, dropout);
            if (cosineHead is not null)
                mlnet.ReplaceHead(classes, dropout, cosineHead);
            return mlnet;
        }
        TorchBackbone net = name switch
        {
            "resnet18" => ResNet.ResNet18(1000),
            "resnet50" => ResNet.ResNet50(1000),
            "densenet121" => DenseNet.DenseNet121(1000),
            _ => throw new ArgumentException($"Unknown backbone '{name}': use resnet18, resnet50 or densenet121.", nameof(name)),
        };
        if (weights is not null)
        {
            var report = PretrainedWeights.LoadTorchvisionWeights(net, weights);
            log?.Report($"Weights: {report.Loaded.Count} tensors from {weights} (torchvision names)");
        }
        net.ReplaceHead(classes, dropout, cosineHead);
        net.Normalization = InputNormalization.ImageNet;
        return net;
    }

    /// <summary>
    /// Finds ML.NET's ResNet18.onnx: beside the application (DnnImageModels/ResNet18Onnx, where the NuGet package
    /// Microsoft.ML.DnnImageFeaturizer.ResNet18 copies it), then in the NuGet cache; null when absent.
    /// </summary>
    public static string? FindMlNetResNet18()
    {
        string nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string[] candidates =
        [
            Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", PretrainedWeights.MlNetResNet18FileName),
            Path.Combine(nuget, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNet18Onnx", PretrainedWeights.MlNetResNet18FileName),
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    private static string? ResolveWeights(string backbone, string? weights, IProgress<string>? log)
    {
        if (string.Equals(weights, "none", StringComparison.OrdinalIgnoreCase))
            return null;
        if (weights is not null)
            return File.Exists(weights) ? weights : throw new FileNotFoundException($"Weights file '{weights}' was not found.", weights);
        if (backbone == "resnet18")
            return FindMlNetResNet18() ?? throw new FileNotFoundException(
                "ML.NET's pretrained ResNet18.onnx was not found beside the application or in the NuGet cache (package Microsoft.ML.DnnImageFeaturizer.ResNet18); pass --weights FILE or --weights none.");
        log?.Report($"WARNING: no pretrained weights for {backbone} (pass --weights FILE with a torchvision state dict); training from random initialisation.");
        return null;
    }
}
