using System.Globalization;
using Microsoft.ML.Data;
using MLPipelines.IO;
using MLPipelines.Pipelines.Models;
using SkiaSharp;

namespace MLPipelines.Serving;

/// <summary>An error answered to the client as JSON with an HTTP status (never a 500).</summary>
/// <param name="status">The HTTP status code.</param>
/// <param name="message">What was wrong, for the client.</param>
public sealed class ServingException(int status, string message) : Exception(message)
{
    /// <summary>The HTTP status code.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// Turns uploaded bytes into images, in memory: the header is checked first (format, width × height against the
/// limit, so a huge image is refused before it is decoded), then ML.NET's <see cref="MLImage"/> decodes it.
/// A <c>.npy</c> array of pixel levels becomes one image per row at the model's size.
/// </summary>
internal static class UploadDecoder
{
    private static readonly SKEncodedImageFormat[] Supported =
        [SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Bmp, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Gif];

    /// <summary>True when <paramref name="bytes"/> start with the numpy magic string.</summary>
    public static bool IsNpy(ReadOnlySpan<byte> bytes) => bytes.Length >= 6 && bytes[0] == 0x93 && bytes[1..6].SequenceEqual("NUMPY"u8);

    /// <summary>Decodes an uploaded image.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="name">The file name, for messages.</param>
    /// <param name="maxPixels">Largest width × height accepted.</param>
    /// <exception cref="ServingException">400: empty, not an image, unsupported format, too large, or undecodable.</exception>
    public static MLImage DecodeImage(byte[] bytes, string name, long maxPixels)
    {
        if (bytes.Length == 0)
            throw new ServingException(400, $"'{name}' is empty.");
        int width, height;
        string format;
        using (var data = SKData.CreateCopy(bytes))
        using (var codec = SKCodec.Create(data))
        {
            if (codec is null)
                throw new ServingException(400, $"'{name}' is not an image: its content is none of JPEG, PNG, BMP, WebP or GIF ({bytes.Length} bytes, starting {Hex(bytes)}).");
            if (Array.IndexOf(Supported, codec.EncodedFormat) < 0)
                throw new ServingException(400, $"'{name}' is a {codec.EncodedFormat} image; supported formats are JPEG, PNG, BMP, WebP and GIF.");
            (width, height, format) = (codec.Info.Width, codec.Info.Height, codec.EncodedFormat.ToString());
        }
        if (width <= 0 || height <= 0)
            throw new ServingException(400, $"'{name}' is an empty {format} image ({width} x {height}).");
        if ((long)width * height > maxPixels)
            throw new ServingException(400, string.Create(CultureInfo.InvariantCulture,
                $"'{name}' is {width} x {height} pixels ({(long)width * height:N0}); the limit is {maxPixels:N0} pixels."));
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var image = MLImage.CreateFromStream(stream);
            if (image.Width <= 0 || image.Height <= 0)
            {
                image.Dispose();
                throw new ServingException(400, $"'{name}' decodes to an empty image.");
            }
            return image;
        }
        catch (Exception e) when (e is not ServingException)
        {
            throw new ServingException(400, $"'{name}' is a {format} file that cannot be decoded (corrupt or truncated): {e.Message}");
        }
    }

    /// <summary>
    /// Turns a <c>.npy</c> array of pixel levels (0-255, or 0-1 when no value exceeds 1) into one image per row:
    /// grayscale models read S × S values per image, RGB models 3 × S × S channels-first, S from the model card.
    /// </summary>
    /// <param name="bytes">The .npy file.</param>
    /// <param name="name">Name for messages.</param>
    /// <param name="card">The model card (image size, channels).</param>
    /// <param name="maxRows">Most images accepted.</param>
    /// <exception cref="ServingException">400: not a readable array, wrong size, or values out of range.</exception>
    public static List<MLImage> DecodeNpy(byte[] bytes, string name, ModelCard card, int maxRows)
    {
        float[] values;
        int[] shape;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var array = Npy.Read(stream, name);
            values = array.ToFloat32();
            shape = array.Shape;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or EndOfStreamException or ArgumentException or FormatException or OverflowException)
        {
            throw new ServingException(400, $"'{name}' is not a readable .npy array: {e.Message}");
        }
        int size = card.ImageSize, channels = card.Channels, n = channels * size * size;
        if (values.Length == 0 || values.Length % n != 0)
            throw new ServingException(400, string.Create(CultureInfo.InvariantCulture,
                $"'{name}' has shape ({string.Join(", ", shape)}), {values.Length} values; the model expects {n} per image ({channels} x {size} x {size}{(channels == 3 ? ", channels first" : "")})."));
        int rows = values.Length / n;
        if (rows > maxRows)
            throw new ServingException(400, $"'{name}' holds {rows} images; at most {maxRows} are scored per request.");
        float max = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v) || v < 0 || v > 255)
                throw new ServingException(400, string.Create(CultureInfo.InvariantCulture, $"'{name}': value {i} is {v}; pixels must be finite levels in 0-255 (or 0-1)."));
            max = Math.Max(max, v);
        }
        float scale = max > 1 ? 1 : 255;
        var images = new List<MLImage>(rows);
        var rgba = new byte[size * size * 4];
        int plane = size * size;
        for (int r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * n, n);
            for (int p = 0; p < plane; p++)
            {
                for (int c = 0; c < 3; c++)
                    rgba[4 * p + c] = (byte)Math.Clamp(MathF.Round(row[(channels == 3 ? c * plane : 0) + p] * scale), 0, 255);
                rgba[4 * p + 3] = 255;
            }
            images.Add(MLImage.CreateFromPixels(size, size, MLPixelFormat.Rgba32, rgba));
        }
        return images;
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes, 0, Math.Min(8, bytes.Length));
}
