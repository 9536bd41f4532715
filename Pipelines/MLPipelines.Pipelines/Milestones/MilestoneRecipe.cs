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
    /// The area filter of <see cref="MilestoneRecipe.Best"/> (<see cref="ImageClassification.ExperimentOptions.Supersampling"/>):
    /// 100 → 84 px, then 3 × 3 block means → 28 px. Chosen on hold-outs of the training split (ten digits, C# engine,
    /// seeds 1-3, 150 held-out photos each, no background copies; loss / accuracy after 60 epochs): resize only
    /// 0.270 / 95.8 %, ×2 0.244 / 96.0 %, ×3 0.236 / 96.7 %, ×4 0.246 / 96.9 %.
    /// </summary>
    public const int BestSupersampling = 3;

    /// <summary>
    /// Sets the preprocessing of <paramref name="experiment"/> for <paramref name="recipe"/>:
    /// <see cref="MilestoneRecipe.Course"/> standardises every pixel over the training images (the course's chain) and
    /// trains on the photos as they are; <see cref="MilestoneRecipe.Best"/> normalises each image over its own pixels
    /// instead (zero mean, unit deviation: stock NormalizeGlobalContrast), which the random affine augmentation needs
    /// (hold-out of the training split: 98.0% against 96.0% with per-pixel standardisation), and adds
    /// <see cref="BestBackgroundCopies"/> background-randomised copies of every training photo
    /// (<see cref="ImageClassification.ExperimentOptions.BackgroundCopies"/>: hands on black 96.0% instead of 5.6%, at
    /// no cost on the photos; docs/milestones-1-2.md) and shrinks the photos with an area filter
    /// (<see cref="BestSupersampling"/>) instead of ML.NET 6's aliasing resize alone.
    /// </summary>
    /// <param name="recipe">The recipe.</param>
    /// <param name="experiment">The options changed.</param>
    public static void ApplyPreprocessing(MilestoneRecipe recipe, ImageClassification.ExperimentOptions experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        experiment.Standardize = recipe == MilestoneRecipe.Course;
        experiment.PerImageNormalize = recipe == MilestoneRecipe.Best;
        experiment.BackgroundCopies = recipe == MilestoneRecipe.Best ? BestBackgroundCopies : 0;
        experiment.Supersampling = recipe == MilestoneRecipe.Best ? BestSupersampling : 1;
    }
}
