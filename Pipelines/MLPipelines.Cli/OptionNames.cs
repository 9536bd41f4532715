using System.Text.RegularExpressions;

namespace MLPipelines.Cli;

/// <summary>
/// The one place that maps the library's parameter and property names (an <see cref="ArgumentException.ParamName"/>
/// such as "LearningRate") to the CLI option a user typed ("--lr"), so that errors raised after parsing name the option.
/// </summary>
internal static class OptionNames
{
    /// <summary>Library name → CLI option.</summary>
    internal static readonly IReadOnlyDictionary<string, string> ByParameter = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["LearningRate"] = "--lr",
        ["BatchSize"] = "--batch-size",
        ["Epochs"] = "--epochs",
        ["ImageSize"] = "--image-size",
        ["Supersampling"] = "--supersample",
        ["Dropout"] = "--dropout",
        ["WeightDecay"] = "--weight-decay",
        ["L2"] = "--l2",
        ["EarlyStoppingPatience"] = "--patience",
        ["ValidationFraction"] = "--validation-fraction",
        ["LabelSmoothing"] = "--label-smoothing",
        ["HeadLearningRateMultiplier"] = "--head-lr-multiplier",
        ["Threads"] = "--threads",
        ["Precision"] = "--precision",
        ["ChannelsLast"] = "--channels-last",
        ["Device"] = "--device",
        ["Optimizer"] = "--optimizer",
        ["Schedule"] = "--schedule",
        ["HiddenLayers"] = "--hidden",
        ["HiddenSizes"] = "--hidden",
        ["RandomShift"] = "--shift",
        ["Shift"] = "--shift",
        ["DataRoot"] = "--data",
        ["TestData"] = "--test-data",
        ["OutputDirectory"] = "--out",
        ["Classes"] = "--classes",
        ["classes"] = "--classes",
        ["seeds"] = "--seeds",
        ["K"] = "--k",
        ["Metrics"] = "--metric",
        ["CacheDirectory"] = "--cache",
        ["Backbone"] = "--backbone",
    };

    /// <summary>The message to show for <paramref name="error"/>: for an <see cref="ArgumentException"/> whose parameter is an option, without ".NET's (Parameter 'X')" and naming the option instead.</summary>
    /// <param name="error">The error.</param>
    internal static string Describe(Exception error)
    {
        if (error is not ArgumentException { ParamName: { } parameter } argument)
            return error.Message;
        var message = argument.Message;
        var suffix = $" (Parameter '{parameter}')";
        if (message.EndsWith(suffix, StringComparison.Ordinal))
            message = message[..^suffix.Length];
        if (!ByParameter.TryGetValue(parameter, out var option))
            return message;
        // "TorchTrainingSettings.LearningRate" and "LearningRate" become "--lr".
        message = Regex.Replace(message, $@"\b(?:[A-Za-z]+\.)?{Regex.Escape(parameter)}\b", option);
        return message.Contains(option, StringComparison.Ordinal) ? message : $"{message} (option {option})";
    }
}
