namespace MLPipelines.Pipelines.Milestones;

/// <summary>Which settings a milestone command starts from (<c>--recipe</c>); explicit options still override them.</summary>
public enum MilestoneRecipe
{
    /// <summary>The course's networks and settings (the milestones' historical defaults).</summary>
    Course,

    /// <summary>The strongest recipe measured on splits of the training data (docs/milestones-1-2.md).</summary>
    Best,
}

/// <summary>The preprocessing part of a recipe (it lives in the ML.NET chain, so in the saved zip).</summary>
public static class MilestoneRecipes
{
    /// <summary>
    /// Sets the feature normalisation of <paramref name="experiment"/> for <paramref name="recipe"/>:
    /// <see cref="MilestoneRecipe.Course"/> standardises every pixel over the training images (the course's chain);
    /// <see cref="MilestoneRecipe.Best"/> normalises each image over its own pixels instead (zero mean, unit deviation:
    /// stock NormalizeGlobalContrast), which the random affine augmentation needs (measured on a hold-out of the
    /// training split: 98.0% against 94.7% with per-pixel standardisation, docs/milestones-1-2.md).
    /// </summary>
    /// <param name="recipe">The recipe.</param>
    /// <param name="experiment">The options changed.</param>
    public static void ApplyPreprocessing(MilestoneRecipe recipe, ImageClassification.ExperimentOptions experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        experiment.Standardize = recipe == MilestoneRecipe.Course;
        experiment.PerImageNormalize = recipe == MilestoneRecipe.Best;
    }
}
