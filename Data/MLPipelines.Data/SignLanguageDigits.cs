using MLPipelines.IO;

namespace MLPipelines.Data;

/// <summary>
/// The public "Sign Language Digits Dataset" (Turkey Ankara Ayrancı Anadolu High School, Apache-2.0):
/// RGB hand images of the digits 0-9, in the image-folder layout <c>sign-language-digits/&lt;digit&gt;/*.JPG</c>,
/// or in the Kaggle form <c>X.npy</c> + <c>Y.npy</c>.
/// </summary>
public static class SignLanguageDigits
{
    /// <summary>Name of the dataset folder under a data root.</summary>
    public const string FolderName = "sign-language-digits";

    /// <summary>The ten class names "0" to "9".</summary>
    public static IReadOnlyList<string> Digits { get; } = Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>
    /// The column-to-digit mapping of the Kaggle <c>Y.npy</c> as reported by users of that copy
    /// (column 0 is digit 9, column 1 is digit 0, ...): {9, 0, 7, 6, 1, 8, 4, 3, 2, 5}. It is not stated by
    /// the dataset itself; check a few images before relying on it.
    /// </summary>
    public static IReadOnlyList<int> KaggleReportedColumnToDigit { get; } = [9, 0, 7, 6, 1, 8, 4, 3, 2, 5];

    /// <summary>
    /// Returns the dataset folder: <c>dataRootOrFolder/sign-language-digits</c> when it exists, otherwise
    /// <paramref name="dataRootOrFolder"/> itself.
    /// </summary>
    /// <param name="dataRootOrFolder">The data root or the dataset folder.</param>
    /// <returns>Full path of the dataset folder.</returns>
    /// <exception cref="DirectoryNotFoundException">Neither exists; the message names both paths.</exception>
    public static string ResolveFolder(string dataRootOrFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRootOrFolder);
        string full = Path.GetFullPath(dataRootOrFolder);
        string nested = Path.Combine(full, FolderName);
        if (Directory.Exists(nested)) return nested;
        if (Directory.Exists(full)) return Path.TrimEndingDirectorySeparator(full);
        throw new DirectoryNotFoundException($"Sign Language Digits dataset not found: neither '{nested}' nor '{full}' exists.");
    }

    /// <summary>Loads the image-folder form.</summary>
    /// <param name="dataRootOrFolder">The data root (holding <c>sign-language-digits/</c>) or the dataset folder itself.</param>
    /// <param name="classes">Digits to load in this order (e.g. <c>["6", "8"]</c>); all ten folders when <see langword="null"/>.</param>
    /// <returns>The dataset.</returns>
    public static ImageFolderDataset Load(string dataRootOrFolder, IEnumerable<string>? classes = null) =>
        ImageFolderDataset.Load(ResolveFolder(dataRootOrFolder), classes);

    /// <summary>
    /// Loads the Kaggle form: <c>X.npy</c> holds N×64×64 grayscale images with values in 0..1 (float32 or
    /// float64), <c>Y.npy</c> holds N×10 one-hot rows. In that copy the Y columns are NOT in digit order (see
    /// <see cref="KaggleReportedColumnToDigit"/>); <paramref name="columnToDigit"/> says which digit each
    /// column means and defaults to the identity (column j is digit j).
    /// </summary>
    /// <param name="xPath">Path of <c>X.npy</c>.</param>
    /// <param name="yPath">Path of <c>Y.npy</c>.</param>
    /// <param name="columnToDigit">Digit of each Y column (a permutation of 0..9); identity when <see langword="null"/>.</param>
    /// <param name="targetSize">Resize to targetSize×targetSize with <see cref="InMemoryImageDataset.ResizeBilinear"/>; keep the stored size when <see langword="null"/>.</param>
    /// <param name="classes">Digits to keep, relabelled 0..k-1 in this order; all ten when <see langword="null"/>.</param>
    /// <returns>The in-memory dataset; labels are digits (class names "0".."9") unless <paramref name="classes"/> filters them.</returns>
    /// <exception cref="InvalidDataException">Shapes disagree or a Y row is not one-hot; the message names the file.</exception>
    public static InMemoryImageDataset LoadNpy(string xPath, string yPath, IReadOnlyList<int>? columnToDigit = null, int? targetSize = null,
        IEnumerable<string>? classes = null)
    {
        var x = Npy.Read(xPath);
        var y = Npy.Read(yPath);
        if (x.Shape.Length != 3)
            throw new InvalidDataException($"'{xPath}': expected images of shape (N, H, W), got {NpyArray.FormatShape(x.Shape)} of '{x.Descr}'.");
        if (y.Shape.Length != 2)
            throw new InvalidDataException($"'{yPath}': expected one-hot labels of shape (N, classes), got {NpyArray.FormatShape(y.Shape)}.");
        int n = x.Shape[0], h = x.Shape[1], w = x.Shape[2], k = y.Shape[1];
        if (y.Shape[0] != n)
            throw new InvalidDataException($"'{yPath}' has {y.Shape[0]} rows but '{xPath}' has {n} images.");
        var map = columnToDigit?.ToArray() ?? Enumerable.Range(0, k).ToArray();
        if (map.Length != k || map.Any(d => d < 0 || d >= 10) || map.Distinct().Count() != map.Length)
            throw new ArgumentException($"columnToDigit must be a permutation of {k} distinct digits 0..9 (one per column of '{yPath}').", nameof(columnToDigit));
        var pixels = x.ToFloat32();
        var onehot = y.ToFloat32();
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int arg = -1, hot = 0;
            for (int j = 0; j < k; j++)
            {
                float v = onehot[(long)i * k + j];
                if (v == 1f) { arg = j; hot++; }
                else if (v != 0f)
                    throw new InvalidDataException($"'{yPath}': row {i} is not one-hot (value {v} in column {j}).");
            }
            if (hot != 1)
                throw new InvalidDataException($"'{yPath}': row {i} has {hot} ones; expected exactly one.");
            labels[i] = map[arg];
        }
        var ds = new InMemoryImageDataset(pixels, labels, h, w, Digits);
        if (classes is not null) ds = ds.Filter(classes);
        if (targetSize is int s) ds = ds.Resize(s, s);
        return ds;
    }
}
