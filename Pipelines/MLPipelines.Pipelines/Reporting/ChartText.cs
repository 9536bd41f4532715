using SkiaSharp;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>
/// Text drawing for charts. Uses a real system font when one is usable (DejaVu Sans and other common
/// sans-serif families, then <see cref="SKTypeface.Default"/>); otherwise falls back to a built-in 7x12
/// bitmap font covering printable ASCII, so charts always carry labels even on machines with no fonts.
/// </summary>
internal static class ChartText
{
    private static readonly string[] PreferredFamilies =
        ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "FreeSans", "Roboto", "Ubuntu", "Cantarell"];

    private static readonly Lazy<(SKTypeface? Regular, SKTypeface? Bold)> Fonts = new(ResolveFonts);

    /// <summary>When true, the built-in bitmap font is used even if a system font is available (tests).</summary>
    internal static bool ForceBuiltInFont { get; set; }

    /// <summary>Whether a usable system font was found.</summary>
    public static bool HasSystemFont => Fonts.Value.Regular is not null;

    /// <summary>The family name of the system font in use, or <see langword="null"/> for the built-in font.</summary>
    public static string? FontFamily => UseSystemFont ? Fonts.Value.Regular!.FamilyName : null;

    private static bool UseSystemFont => !ForceBuiltInFont && Fonts.Value.Regular is not null;

    /// <summary>Width of <paramref name="text"/> in pixels at <paramref name="size"/>.</summary>
    public static float Measure(string text, float size, bool bold = false)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        if (!UseSystemFont)
        {
            return text.Length * BitmapFont.Advance * BitmapFont.Scale(size);
        }

        using SKFont font = CreateFont(size, bold);
        return font.MeasureText(text);
    }

    /// <summary>Draws <paramref name="text"/> horizontally aligned at <paramref name="x"/>, vertically centred (on capitals) at <paramref name="yCenter"/>.</summary>
    public static void Draw(SKCanvas canvas, string text, float x, float yCenter, float size, SKColor color, SKTextAlign align = SKTextAlign.Left, bool bold = false)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        float width = Measure(text, size, bold);
        float left = align switch
        {
            SKTextAlign.Center => x - (width / 2),
            SKTextAlign.Right => x - width,
            _ => x,
        };

        if (!UseSystemFont)
        {
            BitmapFont.Draw(canvas, text, left, yCenter, size, color, bold);
            return;
        }

        using SKFont font = CreateFont(size, bold);
        using var paint = new SKPaint { IsAntialias = true, Color = color };
        float capHeight = font.Metrics.CapHeight;
        if (capHeight <= 0)
        {
            capHeight = size * 0.7f;
        }

        canvas.DrawText(text, left, yCenter + (capHeight / 2), SKTextAlign.Left, font, paint);
    }

    /// <summary>Draws text rotated by <paramref name="degrees"/> (counter-clockwise negative) around (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public static void DrawRotated(SKCanvas canvas, string text, float x, float y, float degrees, float size, SKColor color, SKTextAlign align = SKTextAlign.Center, bool bold = false)
    {
        canvas.Save();
        canvas.Translate(x, y);
        canvas.RotateDegrees(degrees);
        Draw(canvas, text, 0, 0, size, color, align, bold);
        canvas.Restore();
    }

    /// <summary>Shortens <paramref name="text"/> with a trailing ellipsis so that it fits <paramref name="maxWidth"/>.</summary>
    public static string Ellipsize(string text, float maxWidth, float size, bool bold = false)
    {
        if (Measure(text, size, bold) <= maxWidth)
        {
            return text;
        }

        const string ellipsis = "...";
        for (int length = text.Length - 1; length > 0; length--)
        {
            string candidate = text[..length].TrimEnd() + ellipsis;
            if (Measure(candidate, size, bold) <= maxWidth)
            {
                return candidate;
            }
        }

        return Measure(ellipsis, size, bold) <= maxWidth ? ellipsis : string.Empty;
    }

    private static SKFont CreateFont(float size, bool bold) =>
        new(bold ? Fonts.Value.Bold ?? Fonts.Value.Regular : Fonts.Value.Regular, size) { Subpixel = true, Edging = SKFontEdging.Antialias };

    private static (SKTypeface? Regular, SKTypeface? Bold) ResolveFonts()
    {
        foreach (string family in PreferredFamilies)
        {
            SKTypeface? regular = TryMatch(family, SKFontStyle.Normal);
            if (regular is not null)
            {
                return (regular, TryMatch(family, SKFontStyle.Bold) ?? regular);
            }
        }

        SKTypeface? fallback = SKTypeface.Default;
        return IsUsable(fallback) ? (fallback, TryMatch(fallback!.FamilyName, SKFontStyle.Bold) ?? fallback) : (null, null);
    }

    private static SKTypeface? TryMatch(string family, SKFontStyle style)
    {
        try
        {
            SKTypeface? typeface = SKFontManager.Default.MatchFamily(family, style);
            if (typeface is null || !IsUsable(typeface))
            {
                return null;
            }

            // Font managers may answer with a substitute family; only accept the one asked for.
            return string.Equals(typeface.FamilyName, family, StringComparison.OrdinalIgnoreCase) ? typeface : null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static bool IsUsable(SKTypeface? typeface)
    {
        if (typeface is null || typeface.GlyphCount <= 0)
        {
            return false;
        }

        ushort[] glyphs = typeface.GetGlyphs("Aa0.%");
        return glyphs.Length == 5 && Array.TrueForAll(glyphs, g => g != 0);
    }

    /// <summary>
    /// A 7x12 pixel font for ASCII 32-126 (rasterised once from DejaVu Sans Mono at 11 px, Bitstream Vera
    /// licence); 12 rows per glyph, one byte per row, bit <c>x</c> = column <c>x</c>; baseline below row 9.
    /// </summary>
    private static class BitmapFont
    {
        public const int Advance = 7;
        private const int Rows = 12;
        private const int CapCenterRow = 5;

        private static readonly byte[] Glyphs = Convert.FromHexString(
        "0000000000000000000000000008080808080800080000000014141400000000000000000028247e14143f120a000000" +
        "00083c0a0a1c28281e0808000007052718043b2838000000001c04040c5a52227c000000000808080000000000000000" +
        "08040404040404040408000004040808080808080404000000082a1c1c2a08000000000000000008083e080800000000" +
        "00000000000000080804000000000000001c000000000000000000000000000808000000002010100808080404020000" +
        "003c6642524242663c000000000e0808080808083e000000003c4240603018047e000000003c42403c6040423c000000" +
        "0030302824267e2020000000003e02023e6040403e000000007804023a4642423c000000007e20201010080804000000" +
        "003c42423c4242423c000000003c4242427c40201e000000000000080800000808000000000000080800000808040000" +
        "0000004038061c6000000000000000003f003f0000000000000000021c60380600000000001c20301808080008000000" +
        "00386442724a4a72060438000018181824243c4242000000003e42423e4242423e000000003844020202024438000000" +
        "001e2242424242221e000000007e02027e0202027e000000007e02027e02020202000000003844020262424438000000" +
        "004242427e42424242000000003e0808080808083e00000000382020202020221c0000000022120a060a122242000000" +
        "00020202020202027e000000004266665a5a4242420000000042464a4a52526242000000003c6642424242663c000000" +
        "003e4242423e020202000000003c6642424242663c600000003e4242423e224202000000003c42021e6040423c000000" +
        "007f0808080808080800000000424242424242423c000000004242242424181818000000004149495536362222000000" +
        "004224241818242442000000006322141c08080808000000007e202010080c047e0000000c04040404040404040c0000" +
        "0002040408080810102000000c08080808080808080c0000000c1221000000000000000000000000000000000000007f" +
        "0810000000000000000000000000001e203c22223c0000000202021e222222221e0000000000003c060202063c000000" +
        "2020203c222222223c0000000000001c223e02023c0000003008083e08080808080000000000003c222222223c201c00" +
        "0202021a26222222220000000800000e080808083e0000000800000e0808080808080600020202120a060a1222000000" +
        "0704040404040404180000000000003e2a2a2a2a2a0000000000001a26222222220000000000001c222222221c000000" +
        "0000001e222222221e0202000000003c222222223c2020000000003c24040404040000000000003c020e30201e000000" +
        "0004041f040404041c00000000000022222222223c00000000000022221414140800000000000041412a2a1414000000" +
        "000000361408081436000000000000221214140c080406000000003e10180c043e000000380808080608080808380000" +
        "0808080808080808080808000e08080830080808080e000000000000000e700000000000");

        public static int Scale(float size) => Math.Max(1, (int)MathF.Round(size / 11f));

        public static void Draw(SKCanvas canvas, string text, float left, float yCenter, float size, SKColor color, bool bold)
        {
            int s = Scale(size);
            float top = MathF.Round(yCenter - (CapCenterRow * s));
            using var paint = new SKPaint { Color = color, IsAntialias = false, Style = SKPaintStyle.Fill };
            float x0 = MathF.Round(left);
            for (int i = 0; i < text.Length; i++)
            {
                char ch = text[i];
                int index = ch is >= ' ' and <= '~' ? ch - ' ' : '?' - ' ';
                for (int row = 0; row < Rows; row++)
                {
                    int bits = Glyphs[(index * Rows) + row];
                    for (int col = 0; col < Advance; col++)
                    {
                        if ((bits & (1 << col)) != 0)
                        {
                            float px = x0 + (((i * Advance) + col) * s);
                            float py = top + (row * s);
                            canvas.DrawRect(px, py, s + (bold ? 1 : 0), s, paint);
                        }
                    }
                }
            }
        }
    }
}
