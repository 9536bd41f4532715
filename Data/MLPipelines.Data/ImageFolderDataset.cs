using System.Collections.ObjectModel;

namespace MLPipelines.Data;

/// <summary>One labelled image file.</summary>
/// <param name="Path">Full path of the image file.</param>
/// <param name="Label">Class name (the name of the class folder).</param>
public sealed record ImageItem(string Path, string Label);

/// <summary>
/// An image classification dataset in the usual "image folder" layout: one sub-folder per class, the
/// folder name being the class name. Files directly in the root and folders starting with '.' are ignored;
/// class folders are searched recursively for files with a supported extension.
/// </summary>
public sealed class ImageFolderDataset
{
    private static readonly HashSet<string> Extensions =
        new([".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"], StringComparer.OrdinalIgnoreCase);

    private ImageFolderDataset(string root, IReadOnlyList<string> classes, IReadOnlyList<ImageItem> items)
    {
        Root = root;
        Classes = classes;
        Items = items;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in classes) counts[c] = 0;
        foreach (var it in items) counts[it.Label]++;
        CountsByClass = new ReadOnlyDictionary<string, int>(counts);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Count; i++) index[classes[i]] = i;
        _classIndex = index;
    }

    private readonly Dictionary<string, int> _classIndex;

    /// <summary>Image file extensions recognised (compared case-insensitively).</summary>
    public static IReadOnlyCollection<string> SupportedExtensions => Extensions;

    /// <summary>Full path of the dataset root.</summary>
    public string Root { get; }

    /// <summary>Class names: folder names sorted ordinally, or the order requested in <see cref="Load"/>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>All images, grouped by class in <see cref="Classes"/> order, paths sorted ordinally within a class.</summary>
    public IReadOnlyList<ImageItem> Items { get; }

    /// <summary>Gets what the reader decided that a user should know (e.g. "the CSV covers 3 of 196 classes; training on those 3"); empty for most datasets.</summary>
    public IReadOnlyList<string> Notes { get; private init; } = [];

    /// <summary>Number of images per class.</summary>
    public IReadOnlyDictionary<string, int> CountsByClass { get; }

    /// <summary>Index of a class in <see cref="Classes"/>.</summary>
    /// <param name="label">Class name.</param>
    /// <returns>The zero-based class index.</returns>
    /// <exception cref="KeyNotFoundException">The class is not part of the dataset.</exception>
    public int ClassIndex(string label) =>
        _classIndex.TryGetValue(label, out int i) ? i : throw new KeyNotFoundException($"Class '{label}' is not in the dataset at '{Root}'.");

    /// <summary>Whether a path has a supported image extension.</summary>
    /// <param name="path">File path.</param>
    /// <returns><see langword="true"/> for .jpg .jpeg .png .bmp .gif .webp in any letter case.</returns>
    public static bool IsSupportedImage(string path) => Extensions.Contains(Path.GetExtension(path));

    /// <summary>
    /// Wraps labelled images that come from another source (e.g. a CSV annotation file) in the same type, so that
    /// every consumer of image-folder datasets can use them.
    /// </summary>
    /// <param name="root">Folder the dataset was read from (reported in messages).</param>
    /// <param name="classes">Class names in index order; no duplicates.</param>
    /// <param name="items">Images whose labels are all in <paramref name="classes"/>; they are grouped by class in class order (stable).</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">A class is listed twice, or an item's label is not a class.</exception>
    /// <param name="notes">What the reader decided that a user should know (e.g. classes left out); may be null.</param>
    public static ImageFolderDataset FromItems(string root, IReadOnlyList<string> classes, IEnumerable<ImageItem> items, IReadOnlyList<string>? notes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(items);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in classes)
        {
            if (!index.TryAdd(c, index.Count))
                throw new ArgumentException($"Class '{c}' is listed twice.", nameof(classes));
        }
        var list = items.ToList();
        foreach (var it in list)
        {
            if (!index.ContainsKey(it.Label))
                throw new ArgumentException($"Image '{it.Path}' has label '{it.Label}', which is not one of the {classes.Count} classes.", nameof(items));
        }
        var ordered = list.Select((it, i) => (it, i)).OrderBy(p => index[p.it.Label]).ThenBy(p => p.i).Select(p => p.it).ToList();
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        return new ImageFolderDataset(full, classes.ToList().AsReadOnly(), ordered.AsReadOnly()) { Notes = notes ?? [] };
    }

    /// <summary>Scans an image-folder dataset.</summary>
    /// <param name="root">Folder holding one sub-folder per class.</param>
    /// <param name="classes">Classes to load, in this order (e.g. <c>["6", "8"]</c>); all folders when <see langword="null"/>.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DirectoryNotFoundException">The root or a requested class folder does not exist (the message names it).</exception>
    /// <exception cref="InvalidDataException">There are no class folders, or a class folder holds no images (the message names it).</exception>
    /// <exception cref="ArgumentException">The class list is empty or repeats a class.</exception>
    public static ImageFolderDataset Load(string root, IEnumerable<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Image folder dataset root '{full}' does not exist.");

        List<string> classList;
        if (classes is null)
        {
            classList = Directory.EnumerateDirectories(full)
                .Select(Path.GetFileName)
                .Where(n => !string.IsNullOrEmpty(n) && !n.StartsWith('.'))
                .Select(n => n!)
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToList();
            if (classList.Count == 0)
                throw new InvalidDataException($"Image folder dataset root '{full}' has no class sub-folders (expected one folder per class).");
        }
        else
        {
            classList = classes.ToList();
            if (classList.Count == 0)
                throw new ArgumentException("The list of classes is empty.", nameof(classes));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in classList)
            {
                if (string.IsNullOrWhiteSpace(c) || c.IndexOfAny(['/', '\\']) >= 0 || c is "." or "..")
                    throw new ArgumentException($"Invalid class name '{c}'.", nameof(classes));
                if (!seen.Add(c)) throw new ArgumentException($"Class '{c}' is listed twice.", nameof(classes));
                string dir = Path.Combine(full, c);
                if (!Directory.Exists(dir))
                    throw new DirectoryNotFoundException($"Requested class folder '{dir}' does not exist in dataset '{full}'.");
            }
        }

        var items = new List<ImageItem>();
        foreach (var c in classList)
        {
            string dir = Path.Combine(full, c);
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(IsSupportedImage)
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0)
                throw new InvalidDataException(
                    $"Class folder '{dir}' holds no images (supported: {string.Join(' ', Extensions.Order(StringComparer.Ordinal))}).");
            items.AddRange(files.Select(f => new ImageItem(f, c)));
        }
        return new ImageFolderDataset(full, classList.AsReadOnly(), items.AsReadOnly());
    }
}
