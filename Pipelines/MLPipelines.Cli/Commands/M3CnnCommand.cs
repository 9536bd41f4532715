using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m3-cnn</c>: the course's CNN experiments on sign-language digits or Stanford Cars.</summary>
internal sealed class M3CnnCommand : ICommand
{
    public string Name => "m3-cnn";

    public string Summary => "Milestone 3: TorchSharp CNNs from scratch (best: for stanford-cars the course network trained longer in bf16, a small ResNet otherwise; course: plain3, bn4-dropout, bn4-dropout-augmented).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--grayscale", "--standardize", "--flip", "--no-flip", "--channels-last", "--no-channels-last" };

    public string Usage => """
        mlpipelines m3-cnn [--data DIR] [--dataset sign-language-digits|stanford-cars] [--classes a,b,...|all]
                           [--recipe best|course] [--image-size S] [--grayscale] [--epochs N]
                           [--preset small-resnet|plain3|bn4-dropout|bn4-dropout-augmented]
                           [--seed N | --seeds 1,2,3] [--optimizer adamw|adam|sgd] [--lr X] [--weight-decay X]
                           [--batch-size N] [--schedule cosine|warmup-cosine|step|none] [--warmup N] [--step-size N]
                           [--gamma X] [--patience N] [--dropout P] [--label-smoothing X]
                           [--augment trivial|course|none] [--crop-scale X] [--mixup ALPHA] [--cutmix ALPHA]
                           [--flip | --no-flip] [--standardize] [--device auto|cpu|cuda] [--threads N]
                           [--validation-fraction 0.2] [--out DIR] [--test-data DIR]
                           [--precision fp32|bf16] [--channels-last|--no-channels-last]

        Trains a CNN from scratch on a stratified split (default 80/20) of the images resized to S x S (RGB unless
        --grayscale; pixels / 255 unless --standardize) and writes to --out (default runs/m3-cnn): model.zip,
        metrics.json, loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv.
          --recipe best    (default) for stanford-cars: the course's bn4-dropout-augmented network and settings
                           below at 64 px, trained for 300 epochs instead of 40, in bf16 with --channels-last (about
                           an hour on 2 cores), the winner on a hold-out of the training split
                           (docs/milestones-2-3.md); for sign-language-digits: small-resnet (3x3 stem, stages
                           32-64-128-256 of two basic blocks, global average pooling, dropout 0.2), 64 px, 40 epochs,
                           AdamW lr 0.002, weight decay 0.05, batch 64, warm-up (2 epochs) + cosine, label smoothing
                           0.1, augment trivial (random resized crop 0.25-1, TrivialAugment), MixUp 0.2 or CutMix 1.0
                           on every batch, bf16
          --recipe course  the course's three experiments at 64 px, 40 epochs, AdamW lr 0.002, weight decay 0.01,
                           batch 32, cosine, dropout 0.5, chosen by --preset (default bn4-dropout-augmented):
                           plain3 = 3 conv blocks 32-64-128; bn4-dropout = 4 blocks 32-64-128-256 with BatchNorm and
                           dropout; bn4-dropout-augmented = the same with random crops (padding S/16), rotations up
                           to 10 degrees and colour jitter, plus horizontal flips for stanford-cars only (not for
                           hand signs; force with --flip / --no-flip)
          Other options override the recipe's values.
          --augment        trivial: random resized crop (area --crop-scale to 1) + TrivialAugment; course: the
                           augmented preset's; none
          --mixup/--cutmix alpha of the Beta distribution of MixUp / CutMix (0 = off; both on: one per batch)
          --data DIR       data root holding the dataset folder (or that folder); default: $MLPIPELINES_DATA
          stanford-cars    anno_train.csv + names.csv + cars_train/, or one folder per class
          --patience N     early stopping on a stratified 10 % hold-out of the training split (printed as
                           "holdout"): stop after N epochs without a lower hold-out loss and keep the epoch with the
                           lowest (a large N never stops): for choosing settings without looking at the validation
                           split, which is still scored at the end
          --precision      bf16: convolutions and linear layers train in bfloat16 with float32 master weights;
                           the saved model is float32 either way
          --channels-last  train with NHWC images and convolution weights (oneDNN's preferred layout; the cars
                           recipe's default); --no-channels-last keeps NCHW
        """;

    /// <summary>What an m3-cnn invocation runs.</summary>
    internal sealed record Plan(ExperimentOptions Experiment, Milestone3CnnOptions Options, int[] Seeds);

    public int Run(Arguments args)
    {
        var plan = Parse(args);
        args.EnsureAllUsed();
        var summary = SeedRuns.Run(plan.Experiment, plan.Seeds, run =>
        {
            var o = plan.Options.Clone();
            var result = TrainingDisplay.Run($"m3-cnn {o.Preset} seed {run.Seed}", o.Epochs, (epochs, log) =>
            {
                o.Progress = epochs;
                return Milestone3Cnn.Run(run, o, log);
            }, o.EarlyStoppingPatience > 0 ? "holdout" : "val"); // --patience scores a hold-out of the training split
            M1Command.PrintResult(result);
            if (result.Metrics.Extra["seconds_per_epoch"] is { } perEpoch)
                Console.Out.WriteLine($"time per epoch: {perEpoch.GetValue<double>():F1} s");
            return result;
        });
        M1Command.PrintSeedSummary(summary);
        return 0;
    }

    /// <summary>Maps every m3-cnn option onto the options the run uses.</summary>
    internal static Plan Parse(Arguments args)
    {
        var dataset = args.String("--dataset") ?? SignLanguageDigits.FolderName;
        if (dataset is not (SignLanguageDigits.FolderName or StanfordCars.FolderName))
            throw new UsageException($"--dataset must be {SignLanguageDigits.FolderName} or {StanfordCars.FolderName}, got '{dataset}'.");
        var classes = args.Classes("all");
        var seeds = args.Seeds();
        var recipe = args.Enum("--recipe", MilestoneRecipe.Best);
        var experiment = Milestone3Cnn.DefaultExperiment(dataset, recipe);
        experiment.OutputDirectory = args.String("--out") ?? Path.Combine("runs", "m3-cnn");
        experiment.DataRoot = args.String("--data");
        experiment.Classes = classes;
        experiment.ImageSize = args.Int("--image-size", experiment.ImageSize, 16, 512);
        experiment.Grayscale = args.Flag("--grayscale");
        experiment.Standardize = args.Flag("--standardize");
        experiment.ValidationFraction = OptionValidators.ValidationFraction(args);
        experiment.TestData = args.String("--test-data");

        var options = Milestone3CnnOptions.For(recipe, dataset);
        options.Preset = args.String("--preset") ?? options.Preset;
        options.Epochs = args.Int("--epochs", options.Epochs, 1, 100_000);
        options.Optimizer = args.Enum("--optimizer", options.Optimizer);
        options.LearningRate = OptionValidators.Positive(args, "--lr", options.LearningRate);
        options.WeightDecay = OptionValidators.NonNegative(args, "--weight-decay", options.WeightDecay);
        options.BatchSize = args.Int("--batch-size", options.BatchSize, 1);
        options.EarlyStoppingPatience = args.Int("--patience", options.EarlyStoppingPatience, 0);
        options.Dropout = args.NullableFraction("--dropout") ?? options.Dropout;
        options.LabelSmoothing = args.NullableFraction("--label-smoothing") ?? options.LabelSmoothing;
        options.Augmentation = args.Enum("--augment", options.Augmentation);
        options.MinCropScale = args.NullableFraction("--crop-scale") ?? options.MinCropScale;
        options.MixupAlpha = OptionValidators.NonNegative(args, "--mixup", options.MixupAlpha);
        options.CutmixAlpha = OptionValidators.NonNegative(args, "--cutmix", options.CutmixAlpha);
        options.Device = OptionValidators.Device(args);
        options.Threads = args.Int("--threads", 0, 0, 1024);
        options.Precision = OptionValidators.NullablePrecision(args) ?? options.Precision;
        options.ChannelsLast = OptionValidators.Switch(args, "--channels-last", "--no-channels-last") ?? options.ChannelsLast;
        options.Schedule = OptionValidators.Schedule(args, stepDefault: 10) ?? options.Schedule;
        try
        {
            options.Preset = Milestone3CnnOptions.NormalisePreset(options.Preset);
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--{OptionName(e.ParamName)}: {e.Message}");
        }
        options.HorizontalFlip = OptionValidators.Switch(args, "--flip", "--no-flip");
        return new Plan(experiment, options, seeds);
    }

    private static string OptionName(string? property) => property switch
    {
        nameof(Milestone3CnnOptions.MinCropScale) => "crop-scale",
        nameof(Milestone3CnnOptions.LabelSmoothing) => "label-smoothing",
        nameof(Milestone3CnnOptions.MixupAlpha) => "mixup",
        nameof(Milestone3CnnOptions.CutmixAlpha) => "cutmix",
        nameof(Milestone3CnnOptions.Dropout) => "dropout",
        _ => "preset",
    };
}
