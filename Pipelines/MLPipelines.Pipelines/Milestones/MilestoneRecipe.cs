namespace MLPipelines.Pipelines.Milestones;

/// <summary>Which settings a milestone command starts from (<c>--recipe</c>); explicit options still override them.</summary>
public enum MilestoneRecipe
{
    /// <summary>The course's networks and settings (the milestones' historical defaults).</summary>
    Course,

    /// <summary>The strongest recipe measured on splits of the training data (docs/milestones-1-2.md).</summary>
    Best,
}
