namespace MLPipelines.Trainers;

/// <summary>ML.NET's default column names, which MLPipelines' trainers read and write.</summary>
public static class ColumnNames
{
    /// <summary>The label column: "Label".</summary>
    public const string Label = "Label";

    /// <summary>The feature vector column: "Features".</summary>
    public const string Features = "Features";

    /// <summary>The score column: "Score" (scalar logit for binary, class probabilities for multiclass).</summary>
    public const string Score = "Score";

    /// <summary>The calibrated probability column of binary classifiers: "Probability".</summary>
    public const string Probability = "Probability";

    /// <summary>The predicted label column: "PredictedLabel".</summary>
    public const string PredictedLabel = "PredictedLabel";
}
