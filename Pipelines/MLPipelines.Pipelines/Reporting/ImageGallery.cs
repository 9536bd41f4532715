using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>One image of an <see cref="ImageGallery"/>.</summary>
/// <param name="ImagePath">Image file (any format SkiaSharp decodes: PNG, JPEG, BMP, GIF, WebP...).</param>
/// <param name="Caption">Text under the thumbnail (up to two lines; longer text is shortened).</param>
/// <param name="Highlight">Draw a thick coloured frame and a bold caption (e.g. the query image).</param>
public sealed record GalleryTile(string ImagePath, string Caption, bool Highlight = false);

/// <summary>Grids of captioned thumbnails (e.g. a query image and its nearest neighbours) rendered to PNG.</summary>
public static class ImageGallery
{
    private static readonly SKColor HighlightColor = new(0xE8, 0x71, 0x0A);
    private static readonly SKColor FrameColor = new(0xCC, 0xCC, 0xCC);
    private static readonly SKColor PlaceholderColor = new(0xF0, 0xF0, 0xF0);
    private const float CaptionSize = 13;
    private const float Padding = 12;

    /// <summary>
    /// Lays the tiles out row by row, each image scaled (aspect kept) into a <paramref name="tileSize"/> square
    /// with its caption underneath, and writes the PNG atomically. An image that is missing or cannot be
    /// decoded is shown as a grey placeholder saying so.
    /// </summary>
    /// <param name="path">Destination .png file; missing folders are created.</param>
    /// <param name="tiles">The images, at least one.</param>
    /// <param name="columns">Tiles per row (at least 1; capped at the tile count).</param>
    /// <param name="title">Optional title above the grid.</param>
    /// <param name="tileSize">Thumbnail square side in pixels (32 to 1024).</param>
    /// <exception cref="ArgumentException"><paramref name="tiles"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> or <paramref name="tileSize"/> is out of range.</exception>
    public static void Save(string path, IReadOnlyList<GalleryTile> tiles, int columns, string? title = null, int tileSize = 180)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.Count == 0)
        {
            throw new ArgumentException("At least one tile is required.", nameof(tiles));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileSize, 32);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tileSize, 1024);

        columns = Math.Min(columns, tiles.Count);
        int rows = (tiles.Count + columns - 1) / columns;
        float captionHeight = 40;
        float cellWidth = tileSize + Padding;
        float cellHeight = tileSize + captionHeight + Padding;
        float top = string.IsNullOrWhiteSpace(title) ? Padding : 44;
        int width = (int)Math.Ceiling(Padding + (columns * cellWidth));
        int height = (int)Math.Ceiling(top + (rows * cellHeight));
        if (!string.IsNullOrWhiteSpace(title))
        {
            width = Math.Max(width, (int)ChartText.Measure(title, ChartCore.TitleSize, bold: true) + 40);
        }

        width = Math.Clamp(width, 64, ChartCore.MaxSide);
        height = Math.Clamp(height, 64, ChartCore.MaxSide);

        ChartCore.SavePng(path, width, height, canvas =>
        {
            if (!string.IsNullOrWhiteSpace(title))
            {
                ChartCore.DrawTitle(canvas, title, width);
            }

            for (int i = 0; i < tiles.Count; i++)
            {
                GalleryTile tile = tiles[i] ?? throw new ArgumentException($"Tile {i} is null.", nameof(tiles));
                float x = Padding + ((i % columns) * cellWidth);
                float y = top + ((i / columns) * cellHeight);
                DrawTile(canvas, tile, new SKRect(x, y, x + tileSize, y + tileSize), captionHeight);
            }
        });
    }

    private static void DrawTile(SKCanvas canvas, GalleryTile tile, SKRect box, float captionHeight)
    {
        using (SKBitmap? bitmap = TryDecode(tile.ImagePath))
        {
            if (bitmap is null)
            {
                using SKPaint bg = ChartCore.Fill(PlaceholderColor);
                canvas.DrawRect(box, bg);
                ChartText.Draw(canvas, "image not found", box.MidX, box.MidY - 8, 11, ChartCore.MarkerColor, SKTextAlign.Center);
                ChartText.Draw(canvas, "or unreadable", box.MidX, box.MidY + 8, 11, ChartCore.MarkerColor, SKTextAlign.Center);
            }
            else
            {
                float scale = Math.Min(box.Width / bitmap.Width, box.Height / bitmap.Height);
                float w = bitmap.Width * scale, h = bitmap.Height * scale;
                var dest = new SKRect(box.MidX - (w / 2), box.MidY - (h / 2), box.MidX + (w / 2), box.MidY + (h / 2));
                using SKImage image = SKImage.FromBitmap(bitmap);
                using var paint = new SKPaint { IsAntialias = true };
                canvas.DrawImage(image, dest, new SKSamplingOptions(SKCubicResampler.Mitchell), paint);
            }
        }

        using (SKPaint frame = tile.Highlight ? ChartCore.Stroke(HighlightColor, 5) : ChartCore.Stroke(FrameColor, 1, antialias: false))
        {
            canvas.DrawRect(tile.Highlight ? SKRect.Inflate(box, 1.5f, 1.5f) : box, frame);
        }

        DrawCaption(canvas, tile.Caption ?? string.Empty, box, captionHeight, tile.Highlight);
    }

    private static void DrawCaption(SKCanvas canvas, string caption, SKRect box, float captionHeight, bool bold)
    {
        float maxWidth = box.Width;
        List<string> lines = Wrap(caption, maxWidth, bold);
        if (lines.Count > 2)
        {
            lines = [lines[0], ChartText.Ellipsize(string.Join(' ', lines.Skip(1)), maxWidth, CaptionSize, bold)];
        }

        SKColor ink = bold ? HighlightColor : ChartCore.TextColor;
        float y = box.Bottom + 14;
        foreach (string line in lines)
        {
            ChartText.Draw(canvas, line, box.MidX, y, CaptionSize, ink, SKTextAlign.Center, bold);
            y += 16;
            if (y > box.Bottom + captionHeight)
            {
                break;
            }
        }
    }

    private static List<string> Wrap(string text, float maxWidth, bool bold)
    {
        // An explicit line break (e.g. "label\nd = 0.15") keeps each part on its own line, shortened to fit.
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline >= 0)
        {
            return [ChartText.Ellipsize(text[..newline].Trim(), maxWidth, CaptionSize, bold),
                    ChartText.Ellipsize(text[(newline + 1)..].Replace('\n', ' ').Trim(), maxWidth, CaptionSize, bold)];
        }

        var lines = new List<string>();
        string current = string.Empty;
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = current.Length == 0 ? word : current + " " + word;
            if (ChartText.Measure(candidate, CaptionSize, bold) <= maxWidth || current.Length == 0)
            {
                current = candidate;
            }
            else
            {
                lines.Add(current);
                current = word;
            }
        }

        if (current.Length > 0)
        {
            lines.Add(current);
        }

        return lines.Select(l => ChartText.Ellipsize(l, maxWidth, CaptionSize, bold)).ToList();
    }

    private static SKBitmap? TryDecode(string imagePath)
    {
        if (string.IsNullOrWhiteSpace(imagePath) || !File.Exists(imagePath))
        {
            return null;
        }

        try
        {
            return SKBitmap.Decode(imagePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
