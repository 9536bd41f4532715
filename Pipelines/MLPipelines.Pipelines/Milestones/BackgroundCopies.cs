using System.Globalization;
using MLPipelines.IO;
using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Models;
using SkiaSharp;

namespace MLPipelines.Pipelines.Milestones;

/// <summary>A background put behind the hand of a photo by <see cref="BackgroundCopies"/>.</summary>
/// <param name="Name">Short name (file name part).</param>
/// <param name="Color">The colour; null for random per-pixel noise.</param>
public sealed record Background(string Name, SKColor? Color)
{
    /// <summary>The backgrounds of the robustness check: black (the course's segmented examples), white, grey, red, green, blue and noise.</summary>
    public static IReadOnlyList<Background> Standard { get; } =
    [
        new("black", SKColors.Black),
        new("white", SKColors.White),
        new("grey", new SKColor(128, 128, 128)),
        new("red", new SKColor(200, 30, 30)),
        new("green", new SKColor(30, 160, 60)),
        new("blue", new SKColor(40, 60, 200)),
        new("noise", null),
    ];
}

/// <summary>Accuracy of one model on one background.</summary>
/// <param name="Background">Background name ("photo" for the unchanged photos through the same .npy path).</param>
/// <param name="Correct">Correctly classified images.</param>
/// <param name="Count">Images.</param>
public sealed record BackgroundAccuracy(string Background, int Correct, int Count)
{
    /// <summary>Correct / Count.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>
/// Copies of validation photos with their background replaced (black, colours, noise), as the course's unseen
/// examples are given: 28×28 grey levels 0-255 in a <c>.npy</c> array. The hand is found in the full-size colour photo,
/// independently of any model's preprocessing: skin colour in YCrCb (Cr 133-178, Cb 75-135) OR a colour far from
/// the photo's background colour (the median of its border pixels), then the largest connected region, with holes
/// filled. The mask is written too (a preview PNG) so that it can be checked by eye. Nothing here is used in training.
/// </summary>
public static class BackgroundCopies
{
    /// <summary>
    /// The hand mask of an RGB photo (true = hand): skin-coloured or far from the border colour, largest 4-connected
    /// region, holes (background regions not touching the border) filled.
    /// </summary>
    /// <param name="bitmap">The photo.</param>
    public static bool[,] HandMask(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        int w = bitmap.Width, h = bitmap.Height;
        var border = new List<(int R, int G, int B)>();
        for (var x = 0; x < w; x++)
        {
            border.Add(Rgb(bitmap.GetPixel(x, 0)));
            border.Add(Rgb(bitmap.GetPixel(x, h - 1)));
        }
        for (var y = 0; y < h; y++)
        {
            border.Add(Rgb(bitmap.GetPixel(0, y)));
            border.Add(Rgb(bitmap.GetPixel(w - 1, y)));
        }
        int Median(Func<(int R, int G, int B), int> f) => border.Select(f).Order().ElementAt(border.Count / 2);
        int br = Median(p => p.R), bg = Median(p => p.G), bb = Median(p => p.B);

        var candidate = new bool[h, w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (r, g, b) = Rgb(bitmap.GetPixel(x, y));
                double luma = 0.299 * r + 0.587 * g + 0.114 * b;
                double cr = (r - luma) * 0.713 + 128, cb = (b - luma) * 0.564 + 128;
                bool skin = cr is >= 136 and <= 180 && cb is >= 70 and <= 128 && r > b + 12;
                double distance = Math.Sqrt((r - br) * (r - br) + (g - bg) * (g - bg) + (b - bb) * (b - bb));
                candidate[y, x] = skin && distance > 20;
            }
        }
        var mask = LargestRegion(candidate);
        FillHoles(mask);
        return mask;
    }

    /// <summary>
    /// The photo with everything outside <paramref name="mask"/> replaced by <paramref name="background"/>, resized to
    /// <paramref name="size"/>×<paramref name="size"/> (area average) and converted to grey levels 0-255
    /// (0.299 R + 0.587 G + 0.114 B), row-major.
    /// </summary>
    /// <param name="bitmap">The photo.</param>
    /// <param name="mask">Its hand mask.</param>
    /// <param name="background">The new background.</param>
    /// <param name="size">Side of the result.</param>
    /// <param name="random">Noise generator (noise background).</param>
    public static byte[] Replace(SKBitmap bitmap, bool[,] mask, Background background, int size, Random random)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(background);
        ArgumentNullException.ThrowIfNull(random);
        int w = bitmap.Width, h = bitmap.Height;
        var grey = new double[h, w];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (r, g, b) = mask[y, x] ? Rgb(bitmap.GetPixel(x, y))
                    : background.Color is { } c ? (c.Red, c.Green, c.Blue)
                    : (random.Next(256), random.Next(256), random.Next(256));
                grey[y, x] = 0.299 * r + 0.587 * g + 0.114 * b;
            }
        }
        return Resize(grey, size);
    }

    /// <summary>Area-average resize of a grey image to size × size levels 0-255.</summary>
    internal static byte[] Resize(double[,] grey, int size)
    {
        int h = grey.GetLength(0), w = grey.GetLength(1);
        var result = new byte[size * size];
        for (var oy = 0; oy < size; oy++)
        {
            double y0 = (double)oy * h / size, y1 = (double)(oy + 1) * h / size;
            for (var ox = 0; ox < size; ox++)
            {
                double x0 = (double)ox * w / size, x1 = (double)(ox + 1) * w / size;
                double sum = 0, area = 0;
                for (var y = (int)y0; y < Math.Min(h, (int)Math.Ceiling(y1)); y++)
                {
                    double wy = Math.Min(y + 1, y1) - Math.Max(y, y0);
                    for (var x = (int)x0; x < Math.Min(w, (int)Math.Ceiling(x1)); x++)
                    {
                        double wx = Math.Min(x + 1, x1) - Math.Max(x, x0);
                        sum += grey[y, x] * wx * wy;
                        area += wx * wy;
                    }
                }
                result[oy * size + ox] = (byte)Math.Clamp(Math.Round(sum / area), 0, 255);
            }
        }
        return result;
    }

    /// <summary>
    /// Writes, for the validation split of <paramref name="experiment"/> (same seed, classes and fraction as the
    /// milestones), one <c>{background}.npy</c> (N × size × size, uint8) per background plus <c>photo.npy</c> (the
    /// unchanged photos through the same resize), <c>labels.txt</c> (one class per line) and <c>preview.png</c>.
    /// </summary>
    /// <param name="experiment">Dataset, classes, seed and validation fraction.</param>
    /// <param name="folder">Output folder.</param>
    /// <param name="backgrounds">Backgrounds; null for <see cref="Background.Standard"/>.</param>
    /// <returns>The number of images.</returns>
    public static int Write(ExperimentOptions experiment, string folder, IReadOnlyList<Background>? backgrounds = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        backgrounds ??= Background.Standard;
        var data = ExperimentData.Load(experiment);
        var items = data.Split.Validation;
        int size = experiment.ImageSize;
        Directory.CreateDirectory(folder);
        var random = new Random(experiment.Seed);
        var outputs = backgrounds.ToDictionary(b => b.Name, _ => new byte[items.Count * size * size]);
        var photos = new byte[items.Count * size * size];
        var preview = new List<(SKBitmap Photo, bool[,] Mask)>();
        for (var i = 0; i < items.Count; i++)
        {
            using var bitmap = SKBitmap.Decode(items[i].Path) ?? throw new InvalidDataException($"'{items[i].Path}' could not be decoded.");
            var mask = HandMask(bitmap);
            var all = new bool[bitmap.Height, bitmap.Width];
            for (var y = 0; y < bitmap.Height; y++)
                for (var x = 0; x < bitmap.Width; x++)
                    all[y, x] = true;
            Replace(bitmap, all, backgrounds[0], size, random).CopyTo(photos, i * size * size);
            foreach (var b in backgrounds)
                Replace(bitmap, mask, b, size, random).CopyTo(outputs[b.Name], i * size * size);
            if (preview.Count < 24 && i % Math.Max(1, items.Count / 24) == 0)
                preview.Add((bitmap.Copy(), mask));
        }
        Npy.Write(Path.Combine(folder, "photo.npy"), NpyArray.FromUInt8(photos, items.Count, size, size));
        foreach (var b in backgrounds)
            Npy.Write(Path.Combine(folder, b.Name + ".npy"), NpyArray.FromUInt8(outputs[b.Name], items.Count, size, size));
        File.WriteAllLines(Path.Combine(folder, "labels.txt"), items.Select(i => i.Label));
        WritePreview(Path.Combine(folder, "preview.png"), preview, outputs["black"], size, items.Count);
        foreach (var (photo, _) in preview)
            photo.Dispose();
        return items.Count;
    }

    /// <summary>
    /// Training-time background randomisation: the training photos followed by <paramref name="copies"/> copies of each
    /// with its background (outside <see cref="HandMask"/>) replaced by a random one: black (30%), a uniform random colour
    /// (40%), per-pixel noise (15%) or a gradient between two random colours (15%). The copies are PNG files written to
    /// <paramref name="folder"/> (a temporary folder the caller deletes); they are full-size photos, so the model's own
    /// preprocessing reads them like any other image, and nothing changes at prediction time. A photo whose mask covers
    /// under 2% of it (no hand found) gets no copies.
    /// </summary>
    /// <param name="train">The training photos.</param>
    /// <param name="copies">Copies per photo; positive.</param>
    /// <param name="seed">Seed of the background choices.</param>
    /// <param name="folder">Where the copies are written.</param>
    public static IReadOnlyList<ImageItem> RandomiseBackgrounds(IReadOnlyList<ImageItem> train, int copies, int seed, string folder)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (copies <= 0)
            throw new ArgumentException($"copies must be positive, got {copies}.", nameof(copies));
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var result = new List<ImageItem>(train);
        for (var i = 0; i < train.Count; i++)
        {
            using var bitmap = SKBitmap.Decode(train[i].Path) ?? throw new InvalidDataException($"'{train[i].Path}' could not be decoded.");
            var mask = HandMask(bitmap);
            int hand = 0;
            foreach (var m in mask)
                hand += m ? 1 : 0;
            if (hand < mask.Length / 50)
                continue; // no hand found (under 2% of the photo): a copy would be background with a label
            for (var k = 0; k < copies; k++)
            {
                using var copy = bitmap.Copy();
                double kind = random.NextDouble();
                SKColor a = new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                SKColor b = new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                for (var y = 0; y < copy.Height; y++)
                {
                    for (var x = 0; x < copy.Width; x++)
                    {
                        if (mask[y, x])
                            continue;
                        SKColor c = kind < 0.3 ? SKColors.Black
                            : kind < 0.7 ? a
                            : kind < 0.85 ? new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))
                            : Blend(a, b, (double)(x + y) / (copy.Width + copy.Height - 2));
                        copy.SetPixel(x, y, c);
                    }
                }
                var path = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{i:D5}-{k}.png"));
                using (var stream = File.Create(path))
                    copy.Encode(stream, SKEncodedImageFormat.Png, 100);
                result.Add(new ImageItem(path, train[i].Label));
            }
        }
        return result;
    }

    private static SKColor Blend(SKColor a, SKColor b, double t) => new(
        (byte)Math.Round(a.Red + (b.Red - a.Red) * t), (byte)Math.Round(a.Green + (b.Green - a.Green) * t), (byte)Math.Round(a.Blue + (b.Blue - a.Blue) * t));

    /// <summary>Accuracy of a model zip on every <c>.npy</c> copy in <paramref name="folder"/> (written by <see cref="Write"/>).</summary>
    /// <param name="modelZip">The model.</param>
    /// <param name="folder">The copies.</param>
    public static IReadOnlyList<BackgroundAccuracy> Evaluate(string modelZip, string folder)
    {
        var labels = File.ReadAllLines(Path.Combine(folder, "labels.txt"));
        var predictor = ImageModelPredictor.Load(modelZip);
        var results = new List<BackgroundAccuracy>();
        foreach (var file in Directory.GetFiles(folder, "*.npy").Order(StringComparer.Ordinal))
        {
            var predictions = predictor.Predict([file]);
            int correct = predictions.Zip(labels).Count(p => p.First.Label == p.Second);
            results.Add(new BackgroundAccuracy(Path.GetFileNameWithoutExtension(file), correct, labels.Length));
        }
        return results;
    }

    /// <summary>Formats an accuracy table row.</summary>
    /// <param name="accuracies">One model's accuracies.</param>
    public static string Describe(IEnumerable<BackgroundAccuracy> accuracies) =>
        string.Join(", ", accuracies.Select(a => string.Create(CultureInfo.InvariantCulture, $"{a.Background} {a.Accuracy:P1}")));

    private static (int R, int G, int B) Rgb(SKColor c) => (c.Red, c.Green, c.Blue);

    private static bool[,] LargestRegion(bool[,] candidate)
    {
        int h = candidate.GetLength(0), w = candidate.GetLength(1);
        var label = new int[h, w];
        int best = 0, bestSize = 0, next = 0;
        var stack = new Stack<(int, int)>();
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                if (!candidate[y, x] || label[y, x] != 0)
                    continue;
                next++;
                int count = 0;
                stack.Push((y, x));
                label[y, x] = next;
                while (stack.Count > 0)
                {
                    var (cy, cx) = stack.Pop();
                    count++;
                    foreach (var (ny, nx) in new[] { (cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1) })
                    {
                        if (ny >= 0 && ny < h && nx >= 0 && nx < w && candidate[ny, nx] && label[ny, nx] == 0)
                        {
                            label[ny, nx] = next;
                            stack.Push((ny, nx));
                        }
                    }
                }
                if (count > bestSize)
                {
                    bestSize = count;
                    best = next;
                }
            }
        }
        var mask = new bool[h, w];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                mask[y, x] = best != 0 && label[y, x] == best;
        return mask;
    }

    private static void FillHoles(bool[,] mask)
    {
        int h = mask.GetLength(0), w = mask.GetLength(1);
        var outside = new bool[h, w];
        var stack = new Stack<(int, int)>();
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                if ((y == 0 || x == 0 || y == h - 1 || x == w - 1) && !mask[y, x] && !outside[y, x])
                {
                    outside[y, x] = true;
                    stack.Push((y, x));
                }
            }
        }
        while (stack.Count > 0)
        {
            var (cy, cx) = stack.Pop();
            foreach (var (ny, nx) in new[] { (cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1) })
            {
                if (ny >= 0 && ny < h && nx >= 0 && nx < w && !mask[ny, nx] && !outside[ny, nx])
                {
                    outside[ny, nx] = true;
                    stack.Push((ny, nx));
                }
            }
        }
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                mask[y, x] |= !outside[y, x];
    }

    private static void WritePreview(string path, List<(SKBitmap Photo, bool[,] Mask)> tiles, byte[] black, int size, int count)
    {
        const int tile = 100;
        int columns = 6, rows = (tiles.Count + columns - 1) / columns;
        using var surface = SKSurface.Create(new SKImageInfo(columns * tile * 3, Math.Max(1, rows) * tile));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        int step = Math.Max(1, count / 24);
        for (var t = 0; t < tiles.Count; t++)
        {
            var (photo, mask) = tiles[t];
            int ox = t % columns * tile * 3, oy = t / columns * tile;
            canvas.DrawBitmap(photo, new SKRect(ox, oy, ox + tile, oy + tile));
            using var maskBitmap = new SKBitmap(photo.Width, photo.Height);
            for (var y = 0; y < photo.Height; y++)
                for (var x = 0; x < photo.Width; x++)
                    maskBitmap.SetPixel(x, y, mask[y, x] ? SKColors.White : SKColors.Black);
            canvas.DrawBitmap(maskBitmap, new SKRect(ox + tile, oy, ox + 2 * tile, oy + tile));
            using var small = new SKBitmap(size, size);
            int index = t * step;
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    byte v = black[index * size * size + y * size + x];
                    small.SetPixel(x, y, new SKColor(v, v, v));
                }
            canvas.DrawBitmap(small, new SKRect(ox + 2 * tile, oy, ox + 3 * tile, oy + tile));
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 90);
        using var stream = File.Create(path);
        png.SaveTo(stream);
    }
}
