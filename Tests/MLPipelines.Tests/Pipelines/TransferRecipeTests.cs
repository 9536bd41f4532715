using MLPipelines.Knn;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Torch.Training;

namespace MLPipelines.Tests.Pipelines;

/// <summary>m3-transfer / m3-knn recipes: what each resolves to, and that explicit options override them.</summary>
public sealed class TransferRecipeTests
{
    [Fact]
    public void Course_recipe_is_the_historical_m3_transfer_defaults()
    {
        var s = new TransferOptions { Recipe = MilestoneRecipe.Course }.Resolve();
        Assert.Equal(TransferStrategy.Frozen, s.Strategy);
        Assert.Equal(10, s.Epochs);
        Assert.Equal(32, s.BatchSize);
        Assert.Equal(1e-3, s.LearningRate);
        Assert.Equal(TorchLearningRateSchedule.Step(7, 0.1), s.Schedule);
        Assert.Equal(1, s.HeadLearningRateMultiplier);
        Assert.Equal(0, s.LabelSmoothing);
        Assert.False(s.TestTimeHorizontalFlip);
        Assert.Null(s.CosineHead);
        Assert.Equal(0, s.Dropout);      // frozen: no dropout, no augmentation
        Assert.False(s.Augment);
        var fineTune = new TransferOptions { Recipe = MilestoneRecipe.Course, Strategy = TransferStrategy.FineTune }.Resolve();
        Assert.Equal(0.5, fineTune.Dropout);
        Assert.True(fineTune.Augment);
    }

    [Fact]
    public void Best_recipe_is_the_default_and_explicit_options_override_it()
    {
        var s = new TransferOptions().Resolve();
        Assert.Equal(TransferStrategy.FineTune, s.Strategy);
        Assert.Equal(Milestone3Transfer.BestEpochs, s.Epochs);
        Assert.Equal(3e-4, s.LearningRate);
        Assert.Equal(Milestone3Transfer.BestLearningRate, s.LearningRate);
        Assert.Equal(10, s.HeadLearningRateMultiplier);
        Assert.Equal(0.1, s.LabelSmoothing);
        Assert.True(s.TestTimeHorizontalFlip);
        Assert.True(s.Augment);
        Assert.Equal(TorchLearningRateSchedule.WarmupCosine(Milestone3Transfer.BestWarmupEpochs, Milestone3Transfer.WarmupCosineMinFactor), s.Schedule);
        Assert.NotNull(s.CosineHead);
        Assert.Equal(MLPipelines.Torch.Transfer.CosineHead.Defaults.Margin, s.CosineHead!.Margin);
        Assert.Equal(MLPipelines.Torch.Transfer.CosineHead.Defaults.Scale, s.CosineHead.Scale);

        var o = new TransferOptions { Epochs = 3, LearningRate = 0.01, Margin = 0.35, Scale = 30, TestTimeHorizontalFlip = false, StepSize = 4 }.Resolve();
        Assert.Equal(3, o.Epochs);
        Assert.Equal(0.01, o.LearningRate);
        Assert.Equal(0.35, o.CosineHead!.Margin);
        Assert.Equal(30, o.CosineHead.Scale);
        Assert.False(o.TestTimeHorizontalFlip);
        Assert.Equal(TorchLearningRateSchedule.Step(4, 0.1), o.Schedule);
        Assert.Equal(TorchLearningRateSchedule.WarmupCosine(5, Milestone3Transfer.WarmupCosineMinFactor), new TransferOptions { WarmupEpochs = 5 }.Resolve().Schedule);
        Assert.Null(new TransferOptions { Head = TransferHead.Linear }.Resolve().CosineHead);
        Assert.Equal(0.1, new TransferOptions { Recipe = MilestoneRecipe.Course, Head = TransferHead.Cosine, Margin = 0.1 }.Resolve().CosineHead!.Margin);
    }

    [Fact]
    public void Contradictions_and_bad_values_name_the_option()
    {
        Assert.Equal("Margin", Assert.Throws<ArgumentException>(() => new TransferOptions { Head = TransferHead.Linear, Margin = 0.2 }.Resolve()).ParamName);
        Assert.Equal("Scale", Assert.Throws<ArgumentException>(() => new TransferOptions { Head = TransferHead.Linear, Scale = 10 }.Resolve()).ParamName);
        Assert.Equal("Margin", Assert.Throws<ArgumentException>(() => new TransferOptions { Margin = 1.5 }.Resolve()).ParamName);
        Assert.Equal("Scale", Assert.Throws<ArgumentException>(() => new TransferOptions { Scale = 0 }.Resolve()).ParamName);
    }

    [Fact]
    public void Crops_mixing_and_the_holdout_resolve_from_the_recipe_and_explicit_values_win()
    {
        foreach (var recipe in new[] { MilestoneRecipe.Best, MilestoneRecipe.Course })
        {
            var s = new TransferOptions { Recipe = recipe }.Resolve();
            Assert.Equal(Milestone3Transfer.DefaultMinCropScale, s.MinCropScale);
            Assert.Equal(0.8, s.MinCropScale);
            Assert.Null(s.Mixing);
        }
        var o = new TransferOptions { MinCropScale = 0.25, CutmixAlpha = 1.0 }.Resolve();
        Assert.Equal(0.25, o.MinCropScale);
        Assert.Equal(1.0, o.Mixing!.CutmixAlpha);
        Assert.Equal(0, o.Mixing.MixupAlpha);
        var both = new TransferOptions { MixupAlpha = 0.2, CutmixAlpha = 1.0 }.Resolve().Mixing!;
        Assert.Equal((0.2, 1.0), (both.MixupAlpha, both.CutmixAlpha));
        Assert.Null(new TransferOptions { MixupAlpha = 0, CutmixAlpha = 0 }.Resolve().Mixing);
        Assert.Equal("MinCropScale", Assert.Throws<ArgumentException>(() => new TransferOptions { MinCropScale = 0 }.Resolve()).ParamName);
        Assert.Equal("MinCropScale", Assert.Throws<ArgumentException>(() => new TransferOptions { MinCropScale = 1.5 }.Resolve()).ParamName);
        Assert.Equal("CutmixAlpha", Assert.Throws<ArgumentException>(() => new TransferOptions { CutmixAlpha = -1 }.Resolve()).ParamName);
        Assert.Equal("MixupAlpha", Assert.Throws<ArgumentException>(() => new TransferOptions { MixupAlpha = double.PositiveInfinity }.Resolve()).ParamName);
        Assert.Equal("MinCropScale", Assert.Throws<ArgumentException>(() => new TransferOptions { MinCropScale = 0.5, Augment = false }.Resolve()).ParamName);
        Assert.Equal("MinCropScale", Assert.Throws<ArgumentException>(() => new TransferOptions { MinCropScale = 0.5, Strategy = TransferStrategy.Frozen }.Resolve()).ParamName);
        Assert.Equal(0.5, new TransferOptions { MinCropScale = 0.5, Strategy = TransferStrategy.Frozen, Augment = true }.Resolve().MinCropScale);
        Assert.Equal("EarlyStoppingPatience", Assert.Throws<ArgumentException>(() => new TransferOptions { EarlyStoppingPatience = -1 }.Resolve()).ParamName);
    }

    [Fact]
    public void Cnn_best_recipe_is_the_course_network_trained_longer_in_bf16_for_stanford_cars_and_the_small_resnet_elsewhere()
    {
        var cars = Milestone3CnnOptions.For(MilestoneRecipe.Best, MLPipelines.Data.StanfordCars.FolderName);
        Assert.Equal("bn4-dropout-augmented", cars.Preset);
        Assert.Equal(Milestone3CnnOptions.CarsBestEpochs, cars.Epochs);
        Assert.Equal(TorchPrecision.BFloat16Mixed, cars.Precision);
        Assert.True(cars.ChannelsLast);
        // Otherwise the course's network and settings: only the schedule length and the arithmetic differ.
        var course = Milestone3CnnOptions.For(MilestoneRecipe.Course, MLPipelines.Data.StanfordCars.FolderName);
        course.Epochs = cars.Epochs;
        course.Precision = cars.Precision;
        course.ChannelsLast = cars.ChannelsLast;
        Assert.Equal(ObjectDump.Of(course), ObjectDump.Of(cars));
        var signs = Milestone3CnnOptions.For(MilestoneRecipe.Best, MLPipelines.Data.SignLanguageDigits.FolderName);
        Assert.Equal(ObjectDump.Of(Milestone3CnnOptions.SmallResNetRecipe()), ObjectDump.Of(signs));
        Assert.Equal("small-resnet", signs.Preset);
        Assert.Equal(0.2, signs.MixupAlpha);
        Assert.Equal(64, Milestone3Cnn.DefaultExperiment(MLPipelines.Data.StanfordCars.FolderName, MilestoneRecipe.Best).ImageSize);
        Assert.NotSame(Milestone3CnnOptions.For(MilestoneRecipe.Best), Milestone3CnnOptions.For(MilestoneRecipe.Best)); // a fresh copy per caller
        Assert.NotSame(Milestone3CnnOptions.For(MilestoneRecipe.Best, MLPipelines.Data.StanfordCars.FolderName), Milestone3CnnOptions.For(MilestoneRecipe.Best, MLPipelines.Data.StanfordCars.FolderName));
    }

    [Fact]
    public void Knn_recipes_resolve_k_and_metric_and_explicit_values_win()
    {
        var best = Milestone3Knn.ResolveGrid(new KnnExperimentOptions());
        Assert.Equal([10], best.K);
        Assert.Equal([KnnMetric.Cosine], best.Metrics);
        var course = Milestone3Knn.ResolveGrid(new KnnExperimentOptions { Recipe = MilestoneRecipe.Course });
        Assert.Equal([10], course.K);
        Assert.Equal([KnnMetric.Euclidean], course.Metrics);
        var explicitGrid = Milestone3Knn.ResolveGrid(new KnnExperimentOptions { K = [3, 5], Metrics = [KnnMetric.Euclidean] });
        Assert.Equal([3, 5], explicitGrid.K);
        Assert.Equal([KnnMetric.Euclidean], explicitGrid.Metrics);
        Assert.True(Milestone3Knn.ResolveMirror(new KnnExperimentOptions()));
        Assert.False(Milestone3Knn.ResolveMirror(new KnnExperimentOptions { Recipe = MilestoneRecipe.Course }));
        Assert.False(Milestone3Knn.ResolveMirror(new KnnExperimentOptions { MirrorEmbeddings = false }));
        Assert.True(Milestone3Knn.ResolveMirror(new KnnExperimentOptions { Recipe = MilestoneRecipe.Course, MirrorEmbeddings = true }));
    }
}
