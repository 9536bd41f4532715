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
    /// <summary>The extra background-randomised copies of each training photo in <see cref="MilestoneRecipe.Best"/>.</summary>
    public const int BestBackgroundCopies = 2;

    /// <summary>
    /// Sets the preprocessing of <paramref name="experiment"/> for <paramref name="recipe"/>:
    /// <see cref="MilestoneRecipe.Course"/> standardises every pixel over the training images (the course's chain) and
    /// trains on the photos as they are; <see cref="MilestoneRecipe.Best"/> normalises each image over its own pixels
    /// instead (zero mean, unit deviation: stock NormalizeGlobalContrast), which the random affine augmentation needs
    /// (hold-out of the training split: 98.0% against 96.0% with per-pixel standardisation), and adds
    /// <see cref="BestBackgroundCopies"/> background-randomised copies of every training photo
    /// (<see cref="ImageClassification.ExperimentOptions.BackgroundCopies"/>: hands on black 96.0% instead of 5.6%, at
    /// no cost on the photos; docs/milestones-1-2.md).
    /// </summary>
    /// <param name="recipe">The recipe.</param>
    /// <param name="experiment">The options changed.</param>
    public static void ApplyPreprocessing(MilestoneRecipe recipe, ImageClassification.ExperimentOptions experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        experiment.Standardize = recipe == MilestoneRecipe.Course;
        experiment.PerImageNormalize = recipe == MilestoneRecipe.Best;
        experiment.BackgroundCopies = recipe == MilestoneRecipe.Best ? BestBackgroundCopies : 0;
    }
}
