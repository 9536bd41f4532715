namespace MLPipelines.Testing;

/// <summary>
/// Writes small image-folder datasets of 24-bit BMP files for tests: class c of K draws a bright vertical bar
/// whose position depends on c, on a noisy dark background, so a classifier can learn it in a few epochs.
/// Shared (linked) by the test projects; no image file is committed.
/// </summary>
internal static class SyntheticImages
{
    /// <summary>Writes <paramref name="perClass"/> images per class (grey noise of ±<paramref name="noise"/> levels) under <paramref name="root"/>/&lt;class&gt;/ and returns root.</summary>
    public static string Write(string root, IReadOnlyList<string> classes, int perClass, int seed, int size = 32, int noise = 25)
    {
        var random = new Random(seed);
        for (var c = 0; c < classes.Count; c++)
        {
            var folder = Path.Combine(root, classes[c]);
            Directory.CreateDirectory(folder);
            var center = (c + 0.5) * size / classes.Count;
            for (var i = 0; i < perClass; i++)
            {
                var shift = random.Next(-2, 3);
                var pixels = new byte[size * size];
                for (var y = 0; y < size; y++)
                {
                    for (var x = 0; x < size; x++)
                    {
                        var bar = Math.Abs(x - center - shift) < size / (3.0 * classes.Count);
                        var value = (bar ? 170 : 60) + random.Next(-noise, noise + 1);
                        pixels[y * size + x] = (byte)Math.Clamp(value, 0, 255);
                    }
                }
                File.WriteAllBytes(Path.Combine(folder, $"{classes[c]}_{i:D3}.bmp"), Bmp(pixels, size, size));
            }
        }
        return root;
    }

    /// <summary>A 24-bit BMP of a grey image (row-major, top row first).</summary>
    public static byte[] Bmp(byte[] grey, int width, int height)
    {
        var stride = (width * 3 + 3) & ~3;
        var data = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            var row = (height - 1 - y) * stride;
            for (var x = 0; x < width; x++)
            {
                var v = grey[y * width + x];
                data[row + 3 * x] = v;
                data[row + 3 * x + 1] = v;
                data[row + 3 * x + 2] = v;
            }
        }
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write((byte)'B');
        w.Write((byte)'M');
        w.Write(54 + data.Length);
        w.Write(0);
        w.Write(54);
        w.Write(40);
        w.Write(width);
        w.Write(height);
        w.Write((short)1);
        w.Write((short)24);
        w.Write(0);
        w.Write(data.Length);
        w.Write(2835);
        w.Write(2835);
        w.Write(0);
        w.Write(0);
        w.Write(data);
        w.Flush();
        return ms.ToArray();
    }
}
