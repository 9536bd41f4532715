using System.Buffers.Binary;

namespace MLPipelines.Tests.Data;

/// <summary>A temporary folder deleted on dispose, plus tiny fixture writers.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlp-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class Bmp
{
    /// <summary>24-bit uncompressed BMP; pixel(x, y) returns (r, g, b), y = 0 is the top row.</summary>
    public static byte[] Create(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        int rowSize = (width * 3 + 3) & ~3;
        int imageSize = rowSize * height;
        var b = new byte[54 + imageSize];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), height); // positive: bottom-up rows
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(34), imageSize);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(38), 2835);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(42), 2835);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + (height - 1 - y) * rowSize;
            for (int x = 0; x < width; x++)
            {
                var (r, g, bl) = pixel(x, y);
                b[row + x * 3] = bl;
                b[row + x * 3 + 1] = g;
                b[row + x * 3 + 2] = r;
            }
        }
        return b;
    }

    public static byte[] Solid(int w, int h, byte r, byte g, byte b) => Create(w, h, (_, _) => (r, g, b));

    public static string Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
