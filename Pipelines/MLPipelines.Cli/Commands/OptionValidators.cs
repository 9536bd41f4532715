using System.Globalization;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;

namespace MLPipelines.Cli.Commands;

/// <summary>Option readers with range checks shared by several commands (m2, m3-cnn, sweep); each failure is a <see cref="UsageException"/> naming the option.</summary>
internal static class OptionValidators
{
    internal static double ValidationFraction(Arguments args)
    {
        var v = args.Double("--validation-fraction", 0.2);
        if (!(v > 0 && v < 1))
            throw new UsageException($"--validation-fraction must be in (0, 1), got {v}.");
        return v;
    }

    /// <summary>Largest --image-size an MLP takes: the first layer holds (size² × channels) × width weights, and 128 px is already 16,384 inputs.</summary>
    internal const int MaxMlpImageSize = 128;

    /// <summary>--image-size for the MLP milestones (m1, m2): 4 to <see cref="MaxMlpImageSize"/> pixels.</summary>
    internal static int MlpImageSize(Arguments args, int fallback)
    {
        var text = args.String("--image-size");
        var size = args.Int("--image-size", fallback, 4, 100_000);
        if (size > MaxMlpImageSize)
            throw new UsageException($"--image-size {text} is too large for an MLP (at most {MaxMlpImageSize}: every pixel is an input of the first layer, " +
                                     $"so {size} px means {(long)size * size:N0} inputs per image and minutes of decoding); use m3-cnn for large images.");
        return size;
    }

    /// <summary>--precision fp32|bf16 (float32, or bfloat16 mixed precision with float32 master weights).</summary>
    internal static TorchPrecision Precision(Arguments args) => NullablePrecision(args) ?? TorchPrecision.Float32;

    internal static TorchPrecision? NullablePrecision(Arguments args) => args.String("--precision")?.ToLowerInvariant() switch
    {
        null => null,
        "fp32" or "float32" => TorchPrecision.Float32,
        "bf16" or "bfloat16" => TorchPrecision.BFloat16Mixed,
        var s => throw new UsageException($"--precision must be fp32 or bf16, got '{s}'."),
    };

    /// <summary>A flag and its negation (e.g. --tta / --no-tta): true, false, or null when neither is given (the recipe decides); both is a usage error naming both.</summary>
    internal static bool? Switch(Arguments args, string on, string off)
    {
        bool isOn = args.Flag(on), isOff = args.Flag(off);
        if (isOn && isOff)
            throw new UsageException($"{on} and {off} contradict each other.");
        return isOn ? true : isOff ? false : null;
    }

    internal static double Positive(Arguments args, string name, double fallback)
    {
        var v = args.Double(name, fallback);
        if (!(v > 0))
            throw new UsageException($"Option {name} must be positive, got {v}.");
        return v;
    }

    internal static double NonNegative(Arguments args, string name, double fallback)
    {
        var v = args.Double(name, fallback);
        if (!(v >= 0))
            throw new UsageException($"Option {name} must be non-negative, got {v}.");
        return v;
    }

    internal static string Device(Arguments args)
    {
        var device = (args.String("--device") ?? "auto").Trim().ToLowerInvariant();
        var ok = device is "auto" or "cpu" or "cuda"
                 || (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _));
        if (!ok)
            throw new UsageException($"--device must be auto, cpu, cuda or cuda:N, got '{device}'.");
        return device;
    }

    /// <summary>--schedule step|cosine|none with --step-size N (step) and --gamma X; null when --schedule is absent.</summary>
    internal static TorchLearningRateSchedule? Schedule(Arguments args, int stepDefault)
    {
        var kind = args.String("--schedule");
        var stepSize = args.Int("--step-size", stepDefault, 1);
        var gamma = args.Double("--gamma", 0.5);
        if (!(gamma > 0 && gamma <= 1))
            throw new UsageException($"--gamma must be in (0, 1], got {gamma}.");
        return kind?.ToLowerInvariant() switch
        {
            null when args.String("--warmup") is not null => TorchLearningRateSchedule.WarmupCosine(args.Int("--warmup", 3, 0, 100_000)),
            null => args.String("--step-size") is null && args.String("--gamma") is null ? null : TorchLearningRateSchedule.Step(stepSize, gamma),
            "step" => TorchLearningRateSchedule.Step(stepSize, gamma),
            "cosine" => TorchLearningRateSchedule.Cosine(1e-5),
            "none" => TorchLearningRateSchedule.None,
            "warmup-cosine" => TorchLearningRateSchedule.WarmupCosine(args.Int("--warmup", 3, 0, 100_000)),
            _ => throw new UsageException($"--schedule must be step, cosine, warmup-cosine or none, got '{kind}'."),
        };
    }

    /// <summary>
    /// The feature normalisation: the recipe's (<see cref="MilestoneRecipes.ApplyPreprocessing"/>), then
    /// <c>--no-standardize</c> (none) and <c>--normalize pixel|image|both|none</c>.
    /// </summary>
    internal static void Normalization(Arguments args, MilestoneRecipe recipe, ExperimentOptions experiment)
    {
        MilestoneRecipes.ApplyPreprocessing(recipe, experiment);
        if (args.Flag("--no-standardize"))
            experiment.Standardize = experiment.PerImageNormalize = false;
        var kind = args.String("--normalize");
        if (kind is null)
            return;
        (experiment.Standardize, experiment.PerImageNormalize) = kind.ToLowerInvariant() switch
        {
            "pixel" => (true, false),
            "image" => (false, true),
            "both" => (true, true),
            "none" => (false, false),
            _ => throw new UsageException($"--normalize must be pixel, image, both or none, got '{kind}'."),
        };
    }
}
