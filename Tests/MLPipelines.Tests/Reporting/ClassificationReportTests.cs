using MLPipelines.Pipelines.Reporting;

namespace MLPipelines.Tests.Reporting;

public class ClassificationReportTests
{
    private const double Tol = 1e-6;

    // true:      0 0 0 1 1 1 1 0
    // predicted: 0 1 1 1 1 0 1 0
    // confusion (rows = true): [[2, 2], [1, 3]]
    private static readonly int[] BinaryTrue = [0, 0, 0, 1, 1, 1, 1, 0];
    private static readonly int[] BinaryPred = [0, 1, 1, 1, 1, 0, 1, 0];

    [Fact]
    public void Binary_ConfusionAccuracyAndPositiveClassMetrics()
    {
        var r = ClassificationReport.Compute(BinaryTrue, BinaryPred, ["neg", "pos"]);

        Assert.True(r.IsBinary);
        Assert.Equal(8, r.Count);
        Assert.Equal(new[,] { { 2, 2 }, { 1, 3 } }, r.ConfusionMatrix);
        Assert.Equal(0.625, r.Accuracy, Tol);

        // Positive class: TP 3, FP 2, FN 1.
        Assert.NotNull(r.Positive);
        Assert.Equal(0.6, r.Positive!.Precision, Tol);
        Assert.Equal(0.75, r.Positive.Recall, Tol);
        Assert.Equal(2.0 / 3.0, r.Positive.F1, Tol);
        Assert.Equal(4, r.Positive.Support);
        Assert.Equal(5, r.Positive.PredictedCount);
        Assert.Equal(0.6, r.Precision, Tol);
        Assert.Equal(0.75, r.Recall, Tol);
        Assert.Equal(2.0 / 3.0, r.F1, Tol);

        // Negative class: TP 2, predicted 3, support 4.
        Assert.Equal(2.0 / 3.0, r.PerClass[0].Precision, Tol);
        Assert.Equal(0.5, r.PerClass[0].Recall, Tol);
        Assert.Equal(4.0 / 7.0, r.PerClass[0].F1, Tol);

        Assert.Equal((2.0 / 3.0 + 0.6) / 2, r.MacroPrecision, Tol);
        Assert.Equal(0.625, r.MacroRecall, Tol);
        Assert.Equal((4.0 / 7.0 + 2.0 / 3.0) / 2, r.MacroF1, Tol);
        Assert.Null(r.Loss);
    }

    [Fact]
    public void Binary_LossIsBceOfPositiveProbability_WithClipping()
    {
        float[] pPos = [0.2f, 0.6f, 0.7f, 0.9f, 0.8f, 0.4f, 1.0f, 0.0f];
        var single = ClassificationReport.Compute(BinaryTrue, BinaryPred, ["neg", "pos"], pPos.Select(p => new[] { p }).ToArray());
        var pair = ClassificationReport.Compute(BinaryTrue, BinaryPred, ["neg", "pos"], pPos.Select(p => new[] { 1 - p, p }).ToArray());

        double expected = (-Math.Log(0.8) - Math.Log(0.4) - Math.Log(0.3) - Math.Log(0.9) - Math.Log(0.8) - Math.Log(0.4)
                           - Math.Log(1 - 1e-7) - Math.Log(1 - 1e-7)) / 8;
        Assert.Equal(0.4485252608, expected, 1e-9);
        Assert.Equal(expected, single.Loss!.Value, 1e-6);
        Assert.Equal(expected, pair.Loss!.Value, 1e-6);
    }

    [Fact]
    public void ThreeClass_ClassNeverPredicted_HasZeroPrecisionAndMacroIncludesIt()
    {
        // true:      0 0 1 1 2 2
        // predicted: 0 1 1 0 0 1   -> class 2 ("c") is never predicted
        int[] t = [0, 0, 1, 1, 2, 2];
        int[] p = [0, 1, 1, 0, 0, 1];
        float[][] probs =
        [
            [0.5f, 0.3f, 0.2f],
            [0.4f, 0.5f, 0.1f],
            [0.2f, 0.7f, 0.1f],
            [0.6f, 0.3f, 0.1f],
            [0.7f, 0.2f, 0.1f],
            [0.3f, 0.7f, 0.0f], // true-class probability 0 -> clipped to 1e-7
        ];
        var r = ClassificationReport.Compute(t, p, ["a", "b", "c"], probs);

        Assert.False(r.IsBinary);
        Assert.Null(r.Positive);
        Assert.Equal(new[,] { { 1, 1, 0 }, { 1, 1, 0 }, { 1, 1, 0 } }, r.ConfusionMatrix);
        Assert.Equal(1.0 / 3.0, r.Accuracy, Tol);

        Assert.Equal(1.0 / 3.0, r.PerClass[0].Precision, Tol);
        Assert.Equal(0.5, r.PerClass[0].Recall, Tol);
        Assert.Equal(0.4, r.PerClass[0].F1, Tol);
        Assert.Equal(0.4, r.PerClass[1].F1, Tol);

        ClassMetrics c = r.PerClass[2];
        Assert.Equal(0, c.PredictedCount);
        Assert.Equal(2, c.Support);
        Assert.Equal(0.0, c.Precision);
        Assert.Equal(0.0, c.Recall);
        Assert.Equal(0.0, c.F1);

        Assert.Equal(2.0 / 9.0, r.MacroPrecision, Tol);
        Assert.Equal(1.0 / 3.0, r.MacroRecall, Tol);
        Assert.Equal(0.8 / 3.0, r.MacroF1, Tol);
        Assert.Equal(r.MacroPrecision, r.Precision);
        Assert.Equal(r.MacroF1, r.F1);

        Assert.Equal(3.5984610674, r.Loss!.Value, 1e-6);
    }

    [Fact]
    public void ClassWithNoTrueSamples_HasZeroRecall()
    {
        // Class 2 never occurs but is predicted once: TP 0, so precision 0 and recall 0 (no support).
        var r = ClassificationReport.Compute([0, 1, 1], [0, 1, 2], ["a", "b", "c"]);
        Assert.Equal(0, r.PerClass[2].Support);
        Assert.Equal(1, r.PerClass[2].PredictedCount);
        Assert.Equal(0.0, r.PerClass[2].Precision);
        Assert.Equal(0.0, r.PerClass[2].Recall);
        Assert.Equal(1.0, r.PerClass[0].Precision);
        Assert.Equal(0.5, r.PerClass[1].Recall, Tol);
        Assert.Equal(2.0 / 3.0, r.Accuracy, Tol);
    }

    [Fact]
    public void PerfectPredictions()
    {
        var r = ClassificationReport.Compute([0, 1, 2, 2], [0, 1, 2, 2], ["a", "b", "c"], [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f], [0f, 0f, 1f]]);
        Assert.Equal(1.0, r.Accuracy);
        Assert.Equal(1.0, r.MacroF1);
        Assert.Equal(-Math.Log(1 - 1e-7), r.Loss!.Value, 1e-9);
    }

    [Fact]
    public void Empty_IsAllZeroWithoutLoss()
    {
        var r = ClassificationReport.Compute([], [], ["a", "b"], []);
        Assert.Equal(0, r.Count);
        Assert.Equal(0.0, r.Accuracy);
        Assert.Equal(0.0, r.F1);
        Assert.Null(r.Loss);
    }

    [Fact]
    public void InvalidInput_Throws()
    {
        Assert.Throws<ArgumentException>(() => ClassificationReport.Compute([0, 1], [0], ["a", "b"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationReport.Compute([0, 2], [0, 1], ["a", "b"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationReport.Compute([0, 1], [0, -1], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => ClassificationReport.Compute([0], [0], []));
        Assert.Throws<ArgumentException>(() => ClassificationReport.Compute([0, 1], [0, 1], ["a", "b", "c"], [[0.5f, 0.5f], [0.5f, 0.5f]]));
        Assert.Throws<ArgumentException>(() => ClassificationReport.Compute([0, 1], [0, 1], ["a", "b"], [[0.5f]]));
    }
}
