using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Pipelines.Models;

/// <summary>
/// Reads the image column of a one-row data view (the probe after a model's resize and grayscale steps) as
/// channels-first R, G, B bytes. Depends only on ML.NET's public API (it was also compiled against ML.NET 5.0.1 to
/// record the legacy references).
/// </summary>
internal static class ProbePixels
{
    /// <summary>The first row's image in <paramref name="column"/> as (width, height, R plane, G plane, B plane).</summary>
    public static (int Width, int Height, byte[] Planes) Read(IDataView view, string column)
    {
        DataViewSchema.Column col = view.Schema[column];
        using DataViewRowCursor cursor = view.GetRowCursor([col]);
        ValueGetter<MLImage> getter = cursor.GetGetter<MLImage>(col);
        if (!cursor.MoveNext())
        {
            throw new InvalidOperationException("The probe produced no row.");
        }

        MLImage image = null!;
        getter(ref image);
        if (image is null)
        {
            throw new InvalidOperationException("The probe image could not be read.");
        }

        int w = image.Width, h = image.Height;
        ReadOnlySpan<byte> pixels = image.Pixels;
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        var planes = new byte[3 * w * h];
        for (int i = 0; i < w * h; i++)
        {
            byte c0 = pixels[(i * 4) + 0], c1 = pixels[(i * 4) + 1], c2 = pixels[(i * 4) + 2];
            planes[i] = bgra ? c2 : c0;
            planes[(w * h) + i] = c1;
            planes[(2 * w * h) + i] = bgra ? c0 : c2;
        }

        image.Dispose();
        return (w, h, planes);
    }
}
