namespace MLPipelines.Pipelines.Models;

/// <summary>
/// The built-in probe image of the preprocessing fingerprint: a 53 x 41 RGB picture (colour gradients, a
/// checkerboard, a grey disc and hard edges) generated in code and written as an uncompressed 24-bit BMP, so every
/// decoder reads the same pixels and only the resize (and grayscale conversion) can change what a model sees. Not
/// square, and not a multiple of any model size, so centre cropping and interpolation are both exercised. This file
/// depends on nothing but the base library (it was also compiled against ML.NET 5.0.1 to record the legacy
/// references; see <see cref="PreprocessingFingerprints.LegacyReference"/>).
/// </summary>
internal static class PreprocessingProbe
{
    /// <summary>Name and version of the probe; a new probe gets a new name.</summary>
    public const string Name = "mlpipelines-probe-1";

    public const int Width = 53;
    public const int Height = 41;

    /// <summary>The colour of pixel (<paramref name="x"/>, <paramref name="y"/>), row 0 at the top.</summary>
    public static (byte R, byte G, byte B) Pixel(int x, int y)
    {
        int r = (x * 255) / (Width - 1);
        int g = (y * 255) / (Height - 1);
        int b = ((x / 3) + (y / 3)) % 2 == 0 ? 230 : 25;
        int dx = x - 30, dy = y - 20;
        if ((dx * dx) + (dy * dy) <= 81)
        {
            return (128, 128, 128);
        }

        if (x is >= 5 and < 12 && y is >= 28 and < 36)
        {
            return (255, 255, 255);
        }

        if (y == 10 || x == 44)
        {
            return (0, 0, 0);
        }

        return ((byte)r, (byte)g, (byte)b);
    }

    /// <summary>The probe as a bottom-up 24-bit BMP file.</summary>
    public static byte[] Bmp()
    {
        int rowSize = ((Width * 3) + 3) & ~3;
        int dataSize = rowSize * Height;
        var bytes = new byte[54 + dataSize];
        void Put32(int offset, int value) => BitConverter.TryWriteBytes(bytes.AsSpan(offset, 4), value);
        bytes[0] = (byte)'B';
        bytes[1] = (byte)'M';
        Put32(2, bytes.Length);
        Put32(10, 54);
        Put32(14, 40);
        Put32(18, Width);
        Put32(22, Height);
        bytes[26] = 1;
        bytes[28] = 24;
        Put32(34, dataSize);
        Put32(38, 2835);
        Put32(42, 2835);
        for (int y = 0; y < Height; y++)
        {
            int row = 54 + ((Height - 1 - y) * rowSize);
            for (int x = 0; x < Width; x++)
            {
                (byte r, byte g, byte b) = Pixel(x, y);
                bytes[row + (x * 3)] = b;
                bytes[row + (x * 3) + 1] = g;
                bytes[row + (x * 3) + 2] = r;
            }
        }

        return bytes;
    }
}
