using System.Globalization;
using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using MLPipelines.Trainers.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>Options of <see cref="Milestone3Transfer"/>.</summary>
public sealed class TransferOptions
{
    /// <summary>"resnet18", "resnet50" or "densenet121". The default value is "resnet18".</summary>
    public string Backbone { get; set; } = "resnet18";

    /// <summary>The transfer strategy. The default value is <see cref="TransferStrategy.Frozen"/>.</summary>
    public TransferStrategy Strategy { get; set; } = TransferStrategy.Frozen;

    /// <summary>
    /// Pretrained weights: ML.NET's ResNet18.onnx (resnet18 only; it has the CNTK layout [2, 2, 2, 3]), a torchvision
    /// state dict (.pth/.pt/.safetensors), or "none" for random initialisation. Null: resnet18 uses ML.NET's ResNet18.onnx
    /// found beside the application or in the NuGet cache; the others start from random weights (with a warning, since
    /// pretrained ResNet-50/DenseNet-121 files cannot be downloaded here). The default value is null.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>Epochs. The default value is 10.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Rows per batch. The default value is 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Adam's learning rate. The default value is 0.001.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>StepLR step size in epochs (gamma 0.1). The default value is 7.</summary>
    public int StepSize { get; set; } = 7;

    /// <summary>Learning-rate schedule; null: StepLR(<see cref="StepSize"/>, 0.1). The default value is null.</summary>
    public TorchLearningRateSchedule? Schedule { get; set; }

    /// <summary>The head's learning rate relative to the backbone's (see <see cref="TorchTransferOptions.HeadLearningRateMultiplier"/>). The default value is 1.</summary>
    public double HeadLearningRateMultiplier { get; set; } = 1;

    /// <summary>Label smoothing of the training loss (see <see cref="TorchTrainingSettings.LabelSmoothing"/>). The default value is 0.</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Compile mirror-image test-time augmentation into the model (see <see cref="TorchTrainerOptions.TestTimeHorizontalFlip"/>). The default value is false.</summary>
    public bool TestTimeHorizontalFlip { get; set; }

    /// <summary>Dropout before the head; null: 0.5 for fine-tuning and progressive unfreezing, 0 for a frozen backbone. The default value is null.</summary>
    public double? Dropout { get; set; }

    /// <summary>Augment the training batches (random resized crop 0.8-1 and horizontal flips); null: on unless frozen. The default value is null.</summary>
    public bool? Augment { get; set; }

    /// <summary>Epochs at which progressive unfreezing adds the next stage. The default value is [3, 5, 7, 9, 11].</summary>
    public IReadOnlyList<int> UnfreezeEpochs { get; set; } = [3, 5, 7, 9, 11];

    /// <summary>libtorch threads (0 leaves the setting). The default value is 0.</summary>
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
        bool frozen = transfer.Strategy == TransferStrategy.Frozen;
        double dropout = transfer.Dropout ?? (frozen ? 0 : 0.5);
        bool augment = transfer.Augment ?? !frozen;
        int size = run.ImageSize;
        var schedule = transfer.Schedule ?? TorchLearningRateSchedule.Step(transfer.StepSize, 0.1);

        // Built and validated before any image is decoded, so a bad option fails at once, naming it.
        var options = new TorchTrainerOptions
        {
            ImageShape = [3, size, size],
            Optimizer = TorchOptimizerKind.Adam,
            LearningRate = transfer.LearningRate,
            LabelSmoothing = transfer.LabelSmoothing,
            TestTimeHorizontalFlip = transfer.TestTimeHorizontalFlip,
            Schedule = schedule,
            Epochs = transfer.Epochs,
            BatchSize = transfer.BatchSize,
            Seed = run.Seed,
            Threads = transfer.Threads,
            Precision = transfer.Precision,
            ChannelsLast = transfer.ChannelsLast,
            Device = "cpu",
            Augmentation = augment ? [new RandomResizedCrop(0.8, 1.0), new HorizontalFlip()] : [],
            Transfer = new TorchTransferOptions
            {
                Strategy = transfer.Strategy,
                UnfreezeEpochs = transfer.UnfreezeEpochs,
                HeadLearningRateMultiplier = transfer.HeadLearningRateMultiplier,
            },
            Progress = transfer.Progress,
            Log = log,
        };
        options.Validate();
        var details = new Dictionary<string, object>
        {
            ["backbone"] = backboneName,
            ["strategy"] = transfer.Strategy.ToString(),
            ["weights"] = weights ?? "none",
            ["dropout"] = dropout,
            ["augment"] = augment,
            ["learning_rate"] = transfer.LearningRate,
            ["head_lr_multiplier"] = transfer.HeadLearningRateMultiplier,
            ["label_smoothing"] = transfer.LabelSmoothing,
            ["test_time_flip"] = transfer.TestTimeHorizontalFlip,
            ["schedule"] = schedule.ToString(),
            ["epochs"] = transfer.Epochs,
            ["precision"] = transfer.Precision.ToString(),
            ["channels_last"] = transfer.ChannelsLast,
        };

        return ImageClassificationExperiment.Run(run, ExperimentData.Load(run), (train, validation, binary, classNames) =>
        {
            int k = binary ? 2 : classNames.Count;
            nn.Module<Tensor, Tensor> Factory() => CreateBackbone(backboneName, weights, k, dropout, log);
            TorchModel model = binary
                ? new TorchBinaryTrainer(Factory, options).Fit(train, validation)
                : new TorchMulticlassTrainer(Factory, options).Fit(train, validation);
            return new TrainedClassifier(model, model.History.Epochs, null, model.TrainSeconds, model.ImagesPerSecond) { Details = details };
        }, log);
    }

    /// <summary>Creates the backbone with its weights and a new head.</summary>
    /// <param name="name">"resnet18", "resnet50" or "densenet121".</param>
    /// <param name="weights">Weights file (.onnx for ML.NET's ResNet-18, otherwise a torchvision state dict) or null for random initialisation.</param>
    /// <param name="classes">Outputs of the new head.</param>
    /// <param name="dropout">Dropout before the head.</param>
    /// <param name="log">Receives a line about the weights.</param>
    /// <returns>The network (RGB pixels / 255 input).</returns>
    public static TorchBackbone CreateBackbone(string name, string? weights, int classes, double dropout, IProgress<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (weights is not null && weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (name != "resnet18")
                throw new ArgumentException($"An ONNX weights file (ML.NET's ResNet18.onnx) only fits resnet18, not {name}.", nameof(weights));
            log?.Report($"Weights: ML.NET's pretrained ResNet-18 from {weights} (CNTK layout, blocks [2, 2, 2, 3])");
            return PretrainedWeights.CreateMlNetResNet18(weights, classes, dropout);
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
        net.ReplaceHead(classes, dropout);
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
