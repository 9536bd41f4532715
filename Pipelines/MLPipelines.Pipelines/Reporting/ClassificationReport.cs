namespace MLPipelines.Pipelines.Reporting;

/// <summary>Precision, recall and F1 of one class, treated one-vs-rest.</summary>
/// <param name="Name">The class name.</param>
/// <param name="Precision">TP / (TP + FP); 0 when the class is never predicted.</param>
/// <param name="Recall">TP / (TP + FN); 0 when the class never occurs in the true labels.</param>
/// <param name="F1">Harmonic mean of precision and recall; 0 when both are 0.</param>
/// <param name="Support">Number of samples whose true label is this class (the confusion-matrix row sum).</param>
/// <param name="PredictedCount">Number of samples predicted as this class (the confusion-matrix column sum).</param>
public sealed record ClassMetrics(string Name, double Precision, double Recall, double F1, int Support, int PredictedCount);

/// <summary>
/// Classification metrics computed from true and predicted class indices: accuracy, per-class and
/// macro-averaged precision/recall/F1, the confusion matrix and, when probabilities are given, the mean loss.
/// </summary>
/// <remarks>
/// <para>Zero-division convention (as scikit-learn's <c>zero_division=0</c>): a class that is never predicted has
/// precision 0; a class with no true samples has recall 0; F1 is 0 when precision + recall is 0.
/// Macro averages are unweighted means over <em>all</em> classes, including those with zero support.</para>
/// <para>Loss: for two classes, binary cross-entropy computed from P(positive) = P(<c>classes[1]</c>);
/// for more classes, categorical cross-entropy from the probability of the true class. Probabilities are
/// clipped to [1e-7, 1 - 1e-7] before taking logarithms (natural logarithm); a NaN probability makes the loss NaN.</para>
/// <para>An empty sample set is allowed: every metric is 0 and <see cref="Loss"/> is <see langword="null"/>.</para>
/// </remarks>
public sealed class ClassificationReport
{
    /// <summary>Lower clipping bound applied to probabilities before taking logarithms (the upper one is 1 - this).</summary>
    public const double ProbabilityEpsilon = 1e-7;

    private readonly int[,] _confusion;

    private ClassificationReport(
        IReadOnlyList<string> classes,
        int[,] confusion,
        int count,
        double? loss)
    {
        Classes = classes;
        _confusion = confusion;
        Count = count;
        Loss = loss;

        int n = classes.Count;
        int correct = 0;
        var perClass = new ClassMetrics[n];
        for (int c = 0; c < n; c++)
        {
            correct += confusion[c, c];
            int support = 0;
            int predicted = 0;
            for (int k = 0; k < n; k++)
            {
                support += confusion[c, k];
                predicted += confusion[k, c];
            }

            int tp = confusion[c, c];
            double precision = predicted == 0 ? 0.0 : (double)tp / predicted;
            double recall = support == 0 ? 0.0 : (double)tp / support;
            perClass[c] = new ClassMetrics(classes[c], precision, recall, F1Of(precision, recall), support, predicted);
        }

        PerClass = perClass;
        Accuracy = count == 0 ? 0.0 : (double)correct / count;
        MacroPrecision = perClass.Average(m => m.Precision);
        MacroRecall = perClass.Average(m => m.Recall);
        MacroF1 = perClass.Average(m => m.F1);
    }

    /// <summary>The class names, in index order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Fraction of samples whose predicted label equals the true label (0 for no samples).</summary>
    public double Accuracy { get; }

    /// <summary>Per-class metrics, in class-index order.</summary>
    public IReadOnlyList<ClassMetrics> PerClass { get; }

    /// <summary>Unweighted mean of the per-class precisions.</summary>
    public double MacroPrecision { get; }

    /// <summary>Unweighted mean of the per-class recalls.</summary>
    public double MacroRecall { get; }

    /// <summary>Unweighted mean of the per-class F1 scores (not the F1 of the macro precision and recall).</summary>
    public double MacroF1 { get; }

    /// <summary>
    /// Mean cross-entropy loss (binary cross-entropy for two classes), or <see langword="null"/> when no
    /// probabilities were given or there are no samples.
    /// </summary>
    public double? Loss { get; }

    /// <summary>Whether there are exactly two classes; <c>Classes[1]</c> is then the positive class.</summary>
    public bool IsBinary => Classes.Count == 2;

    /// <summary>Metrics of the positive class <c>Classes[1]</c> for binary problems; <see langword="null"/> otherwise.</summary>
    public ClassMetrics? Positive => IsBinary ? PerClass[1] : null;

    /// <summary>Headline precision: the positive class's for binary problems, the macro average otherwise.</summary>
    public double Precision => Positive?.Precision ?? MacroPrecision;

    /// <summary>Headline recall: the positive class's for binary problems, the macro average otherwise.</summary>
    public double Recall => Positive?.Recall ?? MacroRecall;

    /// <summary>Headline F1: the positive class's for binary problems, the macro average otherwise.</summary>
    public double F1 => Positive?.F1 ?? MacroF1;

    /// <summary>
    /// A copy of the confusion matrix: <c>[true class, predicted class]</c> sample counts
    /// (rows = true class, columns = predicted class).
    /// </summary>
    public int[,] ConfusionMatrix => (int[,])_confusion.Clone();

    /// <summary>The confusion-matrix count of samples with true class <paramref name="trueClass"/> predicted as <paramref name="predictedClass"/>.</summary>
    /// <param name="trueClass">True class index (row).</param>
    /// <param name="predictedClass">Predicted class index (column).</param>
    /// <returns>The sample count.</returns>
    public int this[int trueClass, int predictedClass] => _confusion[trueClass, predictedClass];

    /// <summary>Computes the report.</summary>
    /// <param name="trueLabels">True class index of each sample, in [0, classes.Count).</param>
    /// <param name="predictedLabels">Predicted class index of each sample, in [0, classes.Count).</param>
    /// <param name="classes">Class names in index order; at least one. Two classes make a binary problem with positive class <c>classes[1]</c>.</param>
    /// <param name="probabilities">
    /// Optional per-sample probabilities: either a vector of <c>classes.Count</c> class probabilities, or, for binary
    /// problems only, a single value P(<c>classes[1]</c>). Required for <see cref="Loss"/>.
    /// </param>
    /// <returns>The computed report.</returns>
    /// <exception cref="ArgumentException">Lengths disagree, class names are missing, or a probability vector has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes.Count).</exception>
    public static ClassificationReport Compute(
        IReadOnlyList<int> trueLabels,
        IReadOnlyList<int> predictedLabels,
        IReadOnlyList<string> classes,
        IReadOnlyList<IReadOnlyList<float>>? probabilities = null)
    {
        ArgumentNullException.ThrowIfNull(trueLabels);
        ArgumentNullException.ThrowIfNull(predictedLabels);
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0)
        {
            throw new ArgumentException("At least one class name is required.", nameof(classes));
        }

        if (trueLabels.Count != predictedLabels.Count)
        {
            throw new ArgumentException(
                $"{trueLabels.Count} true labels but {predictedLabels.Count} predicted labels.", nameof(predictedLabels));
        }

        if (probabilities is not null && probabilities.Count != trueLabels.Count)
        {
            throw new ArgumentException(
                $"{trueLabels.Count} labels but {probabilities.Count} probability vectors.", nameof(probabilities));
        }

        int n = classes.Count;
        var confusion = new int[n, n];
        for (int i = 0; i < trueLabels.Count; i++)
        {
            int t = trueLabels[i];
            int p = predictedLabels[i];
            if ((uint)t >= (uint)n)
            {
                throw new ArgumentOutOfRangeException(nameof(trueLabels), t, $"True label at index {i} is outside [0, {n}).");
            }

            if ((uint)p >= (uint)n)
            {
                throw new ArgumentOutOfRangeException(nameof(predictedLabels), p, $"Predicted label at index {i} is outside [0, {n}).");
            }

            confusion[t, p]++;
        }

        double? loss = probabilities is null || trueLabels.Count == 0
            ? null
            : MeanLoss(trueLabels, probabilities, n);
        return new ClassificationReport(classes.ToArray(), confusion, trueLabels.Count, loss);
    }

    private static double MeanLoss(IReadOnlyList<int> trueLabels, IReadOnlyList<IReadOnlyList<float>> probabilities, int classCount)
    {
        double sum = 0;
        for (int i = 0; i < trueLabels.Count; i++)
        {
            IReadOnlyList<float> probs = probabilities[i]
                ?? throw new ArgumentException($"Probability vector at index {i} is null.", nameof(probabilities));
            int t = trueLabels[i];
            if (classCount == 2)
            {
                double pPositive = probs.Count switch
                {
                    1 => probs[0],
                    2 => probs[1],
                    _ => throw new ArgumentException(
                        $"Probability vector at index {i} has {probs.Count} values; binary problems take 1 (P(positive)) or 2.",
                        nameof(probabilities)),
                };
                pPositive = Clip(pPositive);
                sum -= t == 1 ? Math.Log(pPositive) : Math.Log(1.0 - pPositive);
            }
            else
            {
                if (probs.Count != classCount)
                {
                    throw new ArgumentException(
                        $"Probability vector at index {i} has {probs.Count} values; expected {classCount}.", nameof(probabilities));
                }

                sum -= Math.Log(Clip(probs[t]));
            }
        }

        return sum / trueLabels.Count;
    }

    private static double Clip(double p) => Math.Clamp(p, ProbabilityEpsilon, 1.0 - ProbabilityEpsilon);

    private static double F1Of(double precision, double recall) =>
        precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
}
