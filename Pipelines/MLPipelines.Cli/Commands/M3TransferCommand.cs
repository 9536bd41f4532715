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

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--no-augment", "--tta", "--no-tta", "--channels-last", "--no-channels-last" };

    public string Usage => """
        mlpipelines m3-transfer --data DIR [--recipe best|course] [--backbone resnet18|resnet50|densenet121]
                                [--strategy frozen|finetune|progressive] [--weights FILE|none] [--image-size 224]
                                [--epochs N] [--batch-size 32] [--lr LR] [--schedule step|cosine|warmup-cosine]
                                [--step-size 7] [--warmup 2] [--head-lr-multiplier M] [--label-smoothing E]
                                [--head linear|cosine] [--margin 0.2] [--scale 16] [--tta|--no-tta] [--dropout P]
                                [--unfreeze 3,5,7,9,11] [--threads N] [--no-augment] [--crop-scale 0.8] [--mixup ALPHA]
                                [--cutmix ALPHA] [--precision fp32|bf16] [--channels-last|--no-channels-last]
                                [--patience N] [--validation-fraction 0.2] [--seed 1] [--out DIR] [--test-data DIR]

        Fine-tunes a pretrained backbone with a new head inside an ML.NET chain (images -> RGB pixels / 255 ->
        network exported to ONNX) on a stratified split, and writes to --out (default runs/m3): model.zip,
        metrics.json, loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv.
          --data DIR       the dataset folder: Stanford Cars' CSV layout (anno_train.csv, names.csv, cars_train/) or
                           one sub-folder per class
          --recipe         best (default): finetune, --lr 0.0003, --head-lr-multiplier 10, warm-up (2 epochs) + cosine,
                           15 epochs, --label-smoothing 0.1, cosine head (margin 0.2, scale 16), --tta,
                           --precision bf16, --channels-last;
                           course: the course's frozen backbone, Adam 0.001, StepLR(7, 0.1), 10 epochs, linear head.
                           Every option given explicitly overrides the recipe's value.
          --weights        resnet18 defaults to ML.NET's pretrained ResNet18.onnx (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18);
                           a .pth/.safetensors torchvision state dict for the others; "none" for random weights
          --strategy       frozen: only the head trains; finetune: everything trains (dropout 0.5, augmentation);
                           progressive: head first, then layer4, layer3, ... at the --unfreeze epochs
          --schedule       step: StepLR(--step-size, gamma 0.1) (the course's); cosine: cosine annealing over --epochs;
                           warmup-cosine: --warmup epochs of linear warm-up, then cosine to 1 % of --lr
          --head-lr-multiplier  the new head's learning rate = --lr times this (e.g. 10 with --lr 0.0003)
          --label-smoothing     label smoothing of the training loss, in [0, 1) (e.g. 0.1)
          --head           linear: a linear layer; cosine: logits = scale * cos(embedding, class weight), with
                           --margin subtracted from the true class's cosine in the training loss only (CosFace); its
                           model.zip is also a retrieval backbone for m3-knn (L2-normalised embeddings)
          --tta            the saved model averages each image's logits with its mirror image's (2x inference cost);
                           --no-tta turns it off
          --precision      bf16: convolutions and linear layers train in bfloat16 with float32 master weights (faster
                           on CPUs with AVX512_BF16; best's default); fp32 (course's); the saved model is float32 either way
          --channels-last  train with NHWC images and convolution weights (oneDNN's preferred layout; best's default);
                           --no-channels-last keeps NCHW
          --crop-scale     the smallest area fraction of the random resized training crops (default 0.8: 80-100 %);
                           only with augmentation (not with --no-augment or a frozen backbone)
          --mixup/--cutmix alpha of the Beta distribution of MixUp / CutMix on the training batches (0 = off, the
                           default; both on: one per batch); a cosine head's margin applies to both mixed targets
          --patience N     hold out a stratified 10 % of the training split, report its loss and accuracy per epoch
                           ("holdout"), stop after N epochs without a lower hold-out loss and keep the epoch with the
                           lowest (a large N never stops): for choosing settings without looking at the validation
                           split, which is still scored at the end
        """;

    /// <summary>What an m3-transfer invocation runs.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, TransferOptions Transfer);

    public int Run(Arguments args)
    {
        var (experiment, transfer) = Parse(args);
        args.EnsureAllUsed();
        string val = transfer.EarlyStoppingPatience > 0 ? "holdout" : "val"; // --patience scores a hold-out of the training split
        transfer.Progress = new SynchronousProgress<EpochRecord>(r => AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  epoch {r.Epoch}: loss {r.TrainLoss:F4} acc {r.TrainAccuracy:P1} {val} loss {r.ValidationLoss:F4} {val} acc {r.ValidationAccuracy:P1} lr {r.LearningRate:G3} {r.Seconds:F0} s ({r.SamplesPerSecond:F1} images/s)")));
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
        var strategy = args.String("--strategy")?.ToLowerInvariant() switch
        {
            null => (TransferStrategy?)null,
            "frozen" => TransferStrategy.Frozen,
            "finetune" or "fine-tune" => TransferStrategy.FineTune,
            "progressive" => TransferStrategy.Progressive,
            var s => throw new UsageException($"--strategy must be frozen, finetune or progressive, got '{s}'."),
        };
        int? stepSize = args.NullableInt("--step-size", 1);
        int? warmup = args.NullableInt("--warmup", 0, 100_000);
        var schedule = args.String("--schedule")?.ToLowerInvariant() switch
        {
            null => null,
            "step" => TorchLearningRateSchedule.Step(stepSize ?? 7, 0.1),
            "cosine" => TorchLearningRateSchedule.Cosine(),
            "warmup-cosine" => TorchLearningRateSchedule.WarmupCosine(warmup ?? Milestone3Transfer.BestWarmupEpochs, Milestone3Transfer.WarmupCosineMinFactor),
            var s => throw new UsageException($"--schedule must be step, cosine or warmup-cosine, got '{s}'."),
        };
        var transfer = new TransferOptions
        {
            Recipe = args.Enum("--recipe", MilestoneRecipe.Best),
            Backbone = args.String("--backbone") ?? "resnet18",
            Strategy = strategy,
            Weights = args.String("--weights"),
            Epochs = args.NullableInt("--epochs", 1),
            BatchSize = args.NullableInt("--batch-size", 2),
            LearningRate = args.NullablePositive("--lr"),
            StepSize = stepSize,
            WarmupEpochs = warmup,
            Schedule = schedule,
            HeadLearningRateMultiplier = args.NullablePositive("--head-lr-multiplier"),
            LabelSmoothing = args.NullableFraction("--label-smoothing"),
            TestTimeHorizontalFlip = OptionValidators.Switch(args, "--tta", "--no-tta"),
            Dropout = args.NullableFraction("--dropout"),
            Augment = args.Flag("--no-augment") ? false : null,
            Head = args.NullableEnum<TransferHead>("--head"),
            Margin = args.NullableFraction("--margin"),
            Scale = args.NullablePositive("--scale"),
            UnfreezeEpochs = args.IntList("--unfreeze") ?? [3, 5, 7, 9, 11],
            Threads = args.Int("--threads", 0, 0),
            Precision = OptionValidators.NullablePrecision(args),
            ChannelsLast = OptionValidators.Switch(args, "--channels-last", "--no-channels-last"),
            MinCropScale = args.NullableDouble("--crop-scale", v => v is > 0 and <= 1, "in (0, 1]"),
            MixupAlpha = args.NullableNonNegative("--mixup"),
            CutmixAlpha = args.NullableNonNegative("--cutmix"),
            EarlyStoppingPatience = args.Int("--patience", 0, 0),
        };
        try
        {
            transfer.Resolve(); // a contradiction (e.g. --margin with --head linear) fails here, before any image is read
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return new Plan(experiment, transfer);
    }
}
