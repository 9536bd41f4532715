namespace MLPipelines.Pipelines.Reporting;

/// <summary>Loss and accuracy curves of a training run, as two PNG line charts.</summary>
public static class TrainingCurves
{
    /// <summary>
    /// Writes a loss chart and an accuracy chart ("train" and, when any epoch has one, "validation" lines;
    /// missing validation values leave gaps) with a dashed "best epoch" marker.
    /// </summary>
    /// <param name="lossPath">Destination of the loss chart (.png).</param>
    /// <param name="accuracyPath">Destination of the accuracy chart (.png).</param>
    /// <param name="history">Per-epoch points, in any order (they are sorted by epoch).</param>
    /// <param name="bestEpoch">
    /// Epoch to mark; when <see langword="null"/>, the epoch with the highest validation accuracy (earliest on ties)
    /// is marked, and nothing is marked if there is no validation accuracy.
    /// </param>
    /// <param name="title">Optional prefix for the chart titles (e.g. the run name).</param>
    public static void Save(string lossPath, string accuracyPath, IReadOnlyList<EpochRecord> history, int? bestEpoch = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        EpochRecord[] points = history.OrderBy(p => p.Epoch).ToArray();
        double[] epochs = points.Select(p => (double)p.Epoch).ToArray();
        bool hasValidationLoss = points.Any(p => p.ValidationLoss.HasValue);
        bool hasValidationAccuracy = points.Any(p => p.ValidationAccuracy.HasValue);

        int? best = bestEpoch ?? BestByValidationAccuracy(points);
        VerticalMarker? marker = best is int e ? new VerticalMarker(e, $"best epoch {e}") : null;
        string prefix = string.IsNullOrWhiteSpace(title) ? string.Empty : title + ": ";

        var loss = new List<ChartSeries> { new("train", epochs, points.Select(p => p.TrainLoss).ToArray()) };
        if (hasValidationLoss)
        {
            loss.Add(new ChartSeries("validation", epochs, points.Select(p => p.ValidationLoss ?? double.NaN).ToArray()));
        }

        var accuracy = new List<ChartSeries> { new("train", epochs, points.Select(p => p.TrainAccuracy).ToArray()) };
        if (hasValidationAccuracy)
        {
            accuracy.Add(new ChartSeries("validation", epochs, points.Select(p => p.ValidationAccuracy ?? double.NaN).ToArray()));
        }

        LineChart.Save(lossPath, prefix + "Loss", "Epoch", "Loss", loss, marker: marker);
        LineChart.Save(accuracyPath, prefix + "Accuracy", "Epoch", "Accuracy", accuracy, marker: marker);
    }

    private static int? BestByValidationAccuracy(IEnumerable<EpochRecord> points)
    {
        EpochRecord? best = null;
        foreach (EpochRecord p in points)
        {
            if (p.ValidationAccuracy is double acc && double.IsFinite(acc) && (best is null || acc > best.ValidationAccuracy))
            {
                best = p;
            }
        }

        return best?.Epoch;
    }
}
