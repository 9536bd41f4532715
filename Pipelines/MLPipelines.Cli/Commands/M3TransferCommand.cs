using System.Globalization;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;
using Spectre.Console;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m3-transfer</c>: transfer learning with a pretrained backbone.</summary>
internal sealed class M3TransferCommand : ICommand
{
    public string Name => "m3-transfer";

    public string Summary => "Milestone 3: transfer learning (ResNet-18/50, DenseNet-121; frozen, fine-tuned or progressive).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--no-augment", "--tta", "--channels-last" };

    public string Usage => """
        mlpipelines m3-transfer --data DIR [--backbone resnet18|resnet50|densenet121] [--strategy frozen|finetune|progressive]
                                [--weights FILE|none] [--image-size 224] [--epochs 10] [--batch-size 32] [--lr 0.001]
                                [--schedule step|cosine] [--step-size 7] [--head-lr-multiplier 1] [--label-smoothing 0]
                                [--tta] [--dropout P] [--unfreeze 3,5,7,9,11] [--threads N] [--no-augment]
                                [--precision fp32|bf16] [--channels-last]
                                [--validation-fraction 0.2] [--seed 1] [--out DIR] [--test-data DIR]

        Fine-tunes a pretrained backbone with a new linear head inside an ML.NET chain (images -> RGB pixels / 255 ->
        network exported to ONNX) on a stratified split, and writes to --out (default runs/m3): model.zip,
        metrics.json, loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv.
          --data DIR       the dataset folder: Stanford Cars' CSV layout (anno_train.csv, names.csv, cars_train/) or
                           one sub-folder per class
          --weights        resnet18 defaults to ML.NET's pretrained ResNet18.onnx (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18);
                           a .pth/.safetensors torchvision state dict for the others; "none" for random weights
          --strategy       frozen: only the head trains; finetune: everything trains (dropout 0.5, augmentation);
                           progressive: head first, then layer4, layer3, ... at the --unfreeze epochs
          --schedule       step: StepLR(--step-size, gamma 0.1) (the course's); cosine: cosine annealing to 0 over --epochs
          --head-lr-multiplier  the new head's learning rate = --lr times this (e.g. 10 with --lr 0.0001)
          --label-smoothing     label smoothing of the training loss, in [0, 1) (e.g. 0.1)
          --tta            the saved model averages each image's logits with its mirror image's (2x inference cost)
          --precision      bf16: convolutions and linear layers train in bfloat16 with float32 master weights (faster
                           on CPUs with AVX512_BF16); the saved model is float32 either way
          --channels-last  train with NHWC images and convolution weights (oneDNN's preferred layout)
        Optimiser Adam (lr 0.001), StepLR(step 7, gamma 0.1).
        """;

    /// <summary>What an m3-transfer invocation runs.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, TransferOptions Transfer);

    public int Run(Arguments args)
    {
        var (experiment, transfer) = Parse(args);
        args.EnsureAllUsed();
        transfer.Progress = new SynchronousProgress<EpochRecord>(r => AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  epoch {r.Epoch}: loss {r.TrainLoss:F4} acc {r.TrainAccuracy:P1} val loss {r.ValidationLoss:F4} val acc {r.ValidationAccuracy:P1} lr {r.LearningRate:G3} {r.Seconds:F0} s ({r.SamplesPerSecond:F1} images/s)")));
        var result = Milestone3Transfer.Run(experiment, transfer, new SynchronousProgress<string>(s => AnsiConsole.WriteLine(s)));
        M1Command.PrintResult(result);
        return 0;
    }

    /// <summary>Maps every m3-transfer option onto the options the run uses.</summary>
    internal static Plan Parse(Arguments args)
    {
        var data = args.String("--data") ?? Environment.GetEnvironmentVariable("MLPIPELINES_DATA")
            ?? throw new UsageException("--data DIR is required (the dataset folder).");
        var experiment = new ExperimentOptions
        {
            DatasetFolder = data,
            ImageSize = args.Int("--image-size", 224, 32, 1024),
            ValidationFraction = OptionValidators.ValidationFraction(args),
            Seed = args.Int("--seed", 1),
            OutputDirectory = args.String("--out") ?? Path.Combine("runs", "m3"),
            TestData = args.String("--test-data"),
            Producer = "m3-transfer",
        };
        var strategy = (args.String("--strategy") ?? "frozen").ToLowerInvariant() switch
        {
            "frozen" => TransferStrategy.Frozen,
            "finetune" or "fine-tune" => TransferStrategy.FineTune,
            "progressive" => TransferStrategy.Progressive,
            var s => throw new UsageException($"--strategy must be frozen, finetune or progressive, got '{s}'."),
        };
        var transfer = new TransferOptions
        {
            Backbone = args.String("--backbone") ?? "resnet18",
            Strategy = strategy,
            Weights = args.String("--weights"),
            Epochs = args.Int("--epochs", 10, 1),
            BatchSize = args.Int("--batch-size", 32, 2),
            LearningRate = OptionValidators.Positive(args, "--lr", 1e-3),
            StepSize = args.Int("--step-size", 7, 1),
            Schedule = (args.String("--schedule") ?? "step").ToLowerInvariant() switch
            {
                "step" => null,
                "cosine" => TorchLearningRateSchedule.Cosine(),
                var s => throw new UsageException($"--schedule must be step or cosine, got '{s}'."),
            },
            HeadLearningRateMultiplier = args.Double("--head-lr-multiplier", 1),
            LabelSmoothing = args.Double("--label-smoothing", 0),
            TestTimeHorizontalFlip = args.Flag("--tta"),
            Dropout = args.NullableFraction("--dropout"),
            Augment = args.Flag("--no-augment") ? false : null,
            UnfreezeEpochs = args.IntList("--unfreeze") ?? [3, 5, 7, 9, 11],
            Threads = args.Int("--threads", 0, 0),
            Precision = OptionValidators.Precision(args),
            ChannelsLast = args.Flag("--channels-last"),
        };
        return new Plan(experiment, transfer);
    }
}
