using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines m3-cnn</c>: the course's CNN experiments on sign-language digits or Stanford Cars.</summary>
internal sealed class M3CnnCommand : ICommand
{
    public string Name => "m3-cnn";

    public string Summary => "Milestone 3: TorchSharp CNNs (plain3, bn4-dropout, bn4-dropout-augmented).";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--grayscale", "--standardize", "--flip", "--no-flip", "--channels-last" };

    public string Usage => """
        mlpipelines m3-cnn [--data DIR] [--dataset sign-language-digits|stanford-cars] [--classes a,b,...|all]
                           [--image-size 64] [--preset plain3|bn4-dropout|bn4-dropout-augmented] [--grayscale]
                           [--epochs 40] [--seed N | --seeds 1,2,3] [--optimizer adamw|adam|sgd] [--lr 0.002]
                           [--weight-decay 0.01] [--batch-size 32] [--schedule cosine|step|none] [--step-size N]
                           [--gamma X] [--patience N] [--dropout 0.5] [--flip | --no-flip] [--standardize]
                           [--device auto|cpu|cuda] [--threads N] [--validation-fraction 0.2] [--out DIR]
                           [--test-data DIR] [--precision fp32|bf16] [--channels-last]

        Trains a ConvNet preset on a stratified split (default 80/20) of the images resized to S x S (RGB unless
        --grayscale; pixels / 255 unless --standardize) and writes to --out (default runs/m3-cnn): model.zip,
        metrics.json, loss-curve.png, accuracy-curve.png, confusion-matrix.png, predictions.csv.
        Presets (the course's three experiments): plain3 = 3 conv blocks 32-64-128; bn4-dropout = 4 blocks
        32-64-128-256 with BatchNorm and dropout; bn4-dropout-augmented = the same with random crops (padding
        S/16), rotations up to 10 degrees and colour jitter, plus horizontal flips for stanford-cars only (not for
        hand signs; force with --flip / --no-flip). AdamW, cosine schedule.
          --data DIR       data root holding the dataset folder (or that folder); default: $MLPIPELINES_DATA
          stanford-cars    anno_train.csv + names.csv + cars_train/, or one folder per class
          --precision      bf16: convolutions and linear layers train in bfloat16 with float32 master weights;
                           the saved model is float32 either way
          --channels-last  train with NHWC images and convolution weights (oneDNN's preferred layout)
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
            });
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
        var experiment = Milestone3Cnn.DefaultExperiment(dataset);
        experiment.OutputDirectory = args.String("--out") ?? Path.Combine("runs", "m3-cnn");
        experiment.DataRoot = args.String("--data");
        experiment.Classes = classes;
        experiment.ImageSize = args.Int("--image-size", 64, 16, 512);
        experiment.Grayscale = args.Flag("--grayscale");
        experiment.Standardize = args.Flag("--standardize");
        experiment.ValidationFraction = OptionValidators.ValidationFraction(args);
        experiment.TestData = args.String("--test-data");

        var options = new Milestone3CnnOptions
        {
            Preset = args.String("--preset") ?? "bn4-dropout-augmented",
            Epochs = args.Int("--epochs", 40, 1, 100_000),
            Optimizer = args.Enum("--optimizer", TorchOptimizerKind.AdamW),
            LearningRate = OptionValidators.Positive(args, "--lr", 0.002),
            WeightDecay = OptionValidators.NonNegative(args, "--weight-decay", 0.01),
            BatchSize = args.Int("--batch-size", 32, 1),
            EarlyStoppingPatience = args.Int("--patience", 0, 0),
            Dropout = args.NullableFraction("--dropout") ?? 0.5,
            Device = OptionValidators.Device(args),
            Threads = args.Int("--threads", 0, 0, 1024),
            Precision = OptionValidators.Precision(args),
            ChannelsLast = args.Flag("--channels-last"),
            Schedule = OptionValidators.Schedule(args, stepDefault: 10),
        };
        try
        {
            options.Preset = Milestone3CnnOptions.NormalisePreset(options.Preset);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--preset: {e.Message}");
        }
        var flip = args.Flag("--flip");
        var noFlip = args.Flag("--no-flip");
        if (flip && noFlip)
            throw new UsageException("--flip and --no-flip exclude each other.");
        options.HorizontalFlip = flip ? true : noFlip ? false : null;
        return new Plan(experiment, options, seeds);
    }
}
