using MLPipelines.Data;
using MLPipelines.Mlp;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using SkiaSharp;

namespace MLPipelines.Tests.Pipelines;

public sealed class BackgroundCopiesTests : IDisposable
{
    private static readonly SKColor Skin = new(200, 150, 120);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bg-copies-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>A 40×40 photo: a grey vignette (bright centre, darker corners), a skin-coloured square "hand" touching
    /// the bottom edge with a grey hole inside, and a small skin-coloured speck elsewhere.</summary>
    private static SKBitmap Photo()
    {
        var bitmap = new SKBitmap(40, 40);
        for (var y = 0; y < 40; y++)
        {
            for (var x = 0; x < 40; x++)
            {
                var r = Math.Sqrt(((x - 20) * (x - 20)) + ((y - 20) * (y - 20)));
                var level = (byte)Math.Clamp(235 - (3 * r), 0, 255);
                bitmap.SetPixel(x, y, new SKColor(level, level, level));
            }
        }
        for (var y = 15; y < 40; y++)
            for (var x = 12; x < 28; x++)
                bitmap.SetPixel(x, y, Skin);
        for (var y = 20; y < 23; y++)
            for (var x = 18; x < 21; x++)
                bitmap.SetPixel(x, y, new SKColor(220, 220, 220)); // a hole: background colour inside the hand
        bitmap.SetPixel(3, 3, Skin);
        bitmap.SetPixel(4, 3, Skin);
        return bitmap;
    }

    [Fact]
    public void HandMask_keeps_the_largest_skin_region_with_its_holes_filled()
    {
        using var photo = Photo();
        var mask = BackgroundCopies.HandMask(photo);
        Assert.True(mask[30, 20]);
        Assert.True(mask[21, 19]); // hole filled
        Assert.False(mask[3, 3]); // the speck is not the largest region
        Assert.False(mask[5, 35]);
        Assert.False(mask[20, 5]);
        int count = 0;
        foreach (var m in mask)
            count += m ? 1 : 0;
        Assert.Equal(25 * 16, count);
    }

    [Fact]
    public void Replace_puts_the_colour_behind_the_hand_and_averages_areas()
    {
        using var photo = Photo();
        var mask = BackgroundCopies.HandMask(photo);
        var black = BackgroundCopies.Replace(photo, mask, new Background("black", SKColors.Black), 10, new Random(1));
        Assert.Equal(100, black.Length);
        Assert.Equal(0, black[0]); // a corner: background
        var skinGrey = (byte)Math.Round((0.299 * 200) + (0.587 * 150) + (0.114 * 120));
        Assert.Equal(skinGrey, black[(9 * 10) + 4]); // inside the hand (rows 36-39, columns 16-19)
        var white = BackgroundCopies.Replace(photo, mask, new Background("white", SKColors.White), 10, new Random(1));
        Assert.Equal(255, white[0]);
        Assert.Equal(skinGrey, white[(9 * 10) + 4]);
        // Area average: at size 8 a block is 5x5 pixels; block (7, 2) covers columns 10-14, of which 12-14 are hand.
        var coarse = BackgroundCopies.Replace(photo, mask, new Background("black", SKColors.Black), 8, new Random(1));
        var exact = (0.299 * 200) + (0.587 * 150) + (0.114 * 120);
        Assert.Equal((byte)Math.Round(0.6 * exact), coarse[(7 * 8) + 2]);
    }

    [Fact]
    public void RandomiseBackgrounds_adds_copies_that_keep_the_hand_pixels()
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, "hand.png");
        using (var photo = Photo())
        using (var stream = File.Create(path))
            photo.Encode(stream, SKEncodedImageFormat.Png, 100);
        var items = BackgroundCopies.RandomiseBackgrounds([new ImageItem(path, "5")], 3, seed: 2, Path.Combine(_root, "copies"));
        Assert.Equal(4, items.Count);
        Assert.All(items, i => Assert.Equal("5", i.Label));
        using var original = SKBitmap.Decode(path);
        var backgrounds = new HashSet<SKColor>();
        foreach (var item in items.Skip(1))
        {
            using var copy = SKBitmap.Decode(item.Path);
            Assert.Equal(original.GetPixel(20, 30), copy.GetPixel(20, 30));
            Assert.Equal(original.GetPixel(19, 21), copy.GetPixel(19, 21)); // the filled hole is kept
            backgrounds.Add(copy.GetPixel(1, 1));
        }
        Assert.True(backgrounds.Count >= 2, "the copies should get different backgrounds");

        // A photo without a hand gets no copies (they would be pure background with a label).
        var empty = Path.Combine(_root, "wall.png");
        using (var wall = new SKBitmap(20, 20))
        using (var stream = File.Create(empty))
        {
            wall.Erase(new SKColor(210, 210, 210));
            wall.Encode(stream, SKEncodedImageFormat.Png, 100);
        }
        Assert.Single(BackgroundCopies.RandomiseBackgrounds([new ImageItem(empty, "1")], 2, seed: 1, Path.Combine(_root, "copies2")));
        Assert.Throws<ArgumentException>(() => BackgroundCopies.RandomiseBackgrounds([], 0, 1, _root));
    }

    [Fact]
    public void Best_recipes_resolve_to_the_documented_settings_and_course_is_unchanged()
    {
        var best = new Milestone1Options { Recipe = MilestoneRecipe.Best }.Resolve(binary: false, seed: 3);
        Assert.Equal([512, 256], best.HiddenLayers);
        Assert.Equal(LearningRateSchedule.WarmupCosine, best.Schedule);
        Assert.True(best.UsesRandomAffine);
        Assert.Equal(0, best.RandomShift);
        Assert.Equal(0.1, best.LabelSmoothing);
        Assert.Equal(0, best.EarlyStoppingPatience);
        var shifted = new Milestone1Options { Recipe = MilestoneRecipe.Best, RandomShift = 2 }.Resolve(binary: true, seed: 3);
        Assert.False(shifted.UsesRandomAffine); // an explicit shift replaces the recipe's affine map
        Assert.Equal(2, shifted.RandomShift);
        Assert.Equal(ObjectDump.Of(Milestone1.BinaryDefaults(4)), ObjectDump.Of(new Milestone1Options().Resolve(binary: true, seed: 4)));

        var experiment = new ExperimentOptions();
        MilestoneRecipes.ApplyPreprocessing(MilestoneRecipe.Best, experiment);
        Assert.True(experiment.PerImageNormalize);
        Assert.False(experiment.Standardize);
        Assert.Equal(MilestoneRecipes.BestBackgroundCopies, experiment.BackgroundCopies);
        Assert.Equal(3, experiment.Supersampling);
        MilestoneRecipes.ApplyPreprocessing(MilestoneRecipe.Course, experiment);
        Assert.False(experiment.PerImageNormalize);
        Assert.True(experiment.Standardize);
        Assert.Equal(0, experiment.BackgroundCopies);
        Assert.Equal(1, experiment.Supersampling);
        Assert.Equal(ObjectDump.Of(new Milestone2Options()), ObjectDump.Of(Milestone2Options.For(MilestoneRecipe.Course)));
        Assert.True(Milestone2Options.For(MilestoneRecipe.Best).UsesAffine);
    }
}
