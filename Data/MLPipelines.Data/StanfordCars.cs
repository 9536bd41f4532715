using System.Globalization;

namespace MLPipelines.Data;

/// <summary>
/// The Stanford Cars dataset (Krause et al., 3dRR-13, 2013): 196 fine-grained classes (make, model, year).
/// Two layouts are read:
/// <list type="bullet">
/// <item>the CSV (Kaggle) form: <c>cars_train/NNNNN.jpg</c>, <c>anno_train.csv</c>
/// (<c>image_name,x_min,y_min,x_max,y_max,label</c>, label = 1-based class id) and <c>names.csv</c>
/// (<c>class_id,class_name</c>, LF or CRLF). The images are taken as they are: the boxes are not applied
/// (the shared copy is already cropped);</item>
/// <item>the image-folder form: one sub-folder per class (see <see cref="ImageFolderDataset"/>), used when the
/// folder has no <c>anno_train.csv</c> and no <c>cars_train/</c>.</item>
/// </list>
/// </summary>
public static class StanfordCars
{
    /// <summary>Name of the dataset folder under a data root.</summary>
    public const string FolderName = "stanford-cars";

    /// <summary>The annotation file of the CSV form.</summary>
    public const string AnnotationsFile = "anno_train.csv";

    /// <summary>The class-name file of the CSV form.</summary>
    public const string NamesFile = "names.csv";

    /// <summary>The image folder of the CSV form.</summary>
    public const string ImagesFolder = "cars_train";

    /// <summary>
    /// Loads the dataset in either layout. In the CSV form the classes are the names of <c>names.csv</c> in class-id
    /// order (1, 2, ...), and the items are the images of <c>anno_train.csv</c>.
    /// </summary>
    /// <param name="datasetFolder">The dataset folder (holding <c>anno_train.csv</c>, or one folder per class).</param>
    /// <param name="classes">Class names to keep, in this order; all when <see langword="null"/>.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A CSV file, or an image listed in <c>anno_train.csv</c>, is missing (the message names it, with the line).</exception>
    /// <exception cref="InvalidDataException">A CSV line is malformed or names an unknown class id (the message names the file and line).</exception>
    /// <exception cref="ArgumentException">A requested class is not in the dataset.</exception>
    public static ImageFolderDataset Load(string datasetFolder, IEnumerable<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetFolder);
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(datasetFolder));
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Stanford Cars dataset folder '{root}' does not exist.");
        string annotations = Path.Combine(root, AnnotationsFile);
        string names = Path.Combine(root, NamesFile);
        string images = Path.Combine(root, ImagesFolder);
        bool csvForm = File.Exists(annotations) || File.Exists(names) || Directory.Exists(images);
        if (!csvForm)
            return ImageFolderDataset.Load(root, classes);
        if (!File.Exists(annotations))
            throw new FileNotFoundException($"Stanford Cars: annotation file '{annotations}' is missing (expected image_name,x_min,y_min,x_max,y_max,label).", annotations);
        if (!File.Exists(names))
            throw new FileNotFoundException($"Stanford Cars: class-name file '{names}' is missing (expected class_id,class_name).", names);

        var classNames = ReadNames(names);
        var items = ReadAnnotations(annotations, images, classNames);
        if (classes is null)
        {
            // A CSV that covers only some of names.csv's classes trains on the classes it has: a K-way model with
            // classes that have no image cannot predict them, and its macro metrics would average empty classes.
            var present = items.Select(i => i.Label).ToHashSet(StringComparer.Ordinal);
            var used = classNames.Where(present.Contains).ToList();
            if (used.Count < 2)
                throw new InvalidDataException($"{annotations} has images of {used.Count} class{(used.Count == 1 ? "" : "es")} only; at least two are needed.");
            var notes = used.Count < classNames.Count
                ? new[] { $"{annotations} covers {used.Count} of the {classNames.Count} classes in {names}; training on those {used.Count} only." }
                : [];
            return ImageFolderDataset.FromItems(root, used, items, notes);
        }
        var all = ImageFolderDataset.FromItems(root, classNames, items);
        var wanted = classes.ToList();
        if (wanted.Count == 0)
            throw new ArgumentException("The list of classes is empty.", nameof(classes));
        var known = new HashSet<string>(classNames, StringComparer.Ordinal);
        foreach (var c in wanted)
        {
            if (!known.Contains(c))
                throw new ArgumentException($"Class '{c}' is not in '{names}'.", nameof(classes));
        }
        var set = new HashSet<string>(wanted, StringComparer.Ordinal);
        return ImageFolderDataset.FromItems(root, wanted, all.Items.Where(i => set.Contains(i.Label)));
    }

    /// <summary>Reads <c>names.csv</c>: class names in class-id order (ids must be 1, 2, ..., K).</summary>
    private static List<string> ReadNames(string path)
    {
        var lines = File.ReadAllLines(path);
        var byId = new SortedDictionary<int, string>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            if (i == 0 && line.StartsWith("class_id", StringComparison.OrdinalIgnoreCase)) continue;
            int comma = line.IndexOf(',', StringComparison.Ordinal);
            if (comma <= 0 || !int.TryParse(line.AsSpan(0, comma), NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) || id < 1)
                throw new InvalidDataException($"{path}, line {i + 1}: expected 'class_id,class_name' with a positive integer id, got '{line}'.");
            string name = Unquote(line[(comma + 1)..].Trim());
            if (name.Length == 0)
                throw new InvalidDataException($"{path}, line {i + 1}: class {id} has an empty name.");
            if (!byId.TryAdd(id, name))
                throw new InvalidDataException($"{path}, line {i + 1}: class id {id} is listed twice.");
        }
        if (byId.Count == 0)
            throw new InvalidDataException($"{path} lists no classes.");
        int expected = 1;
        foreach (int id in byId.Keys)
        {
            if (id != expected)
                throw new InvalidDataException($"{path}: class ids must be 1..{byId.Count} without gaps; id {expected} is missing.");
            expected++;
        }
        var result = byId.Values.ToList();
        var duplicate = result.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidDataException($"{path}: class name '{duplicate.Key}' is used by more than one id.");
        return result;
    }

    /// <summary>Reads <c>anno_train.csv</c>: one item per line, the label being the name of its class id.</summary>
    private static List<ImageItem> ReadAnnotations(string path, string imagesFolder, IReadOnlyList<string> classNames)
    {
        var lines = File.ReadAllLines(path);
        var items = new List<ImageItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // Columns by header name when the first line is a header (any order); else the documented order.
        int nameColumn = 0, labelColumn = 5, columns = 6;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            var fields = line.Split(',');
            if (items.Count == 0 && i == FirstNonEmpty(lines) && fields.Any(f => HeaderNames.Contains(Unquote(f.Trim()))))
            {
                var header = fields.Select(f => Unquote(f.Trim()).ToLowerInvariant()).ToList();
                nameColumn = header.IndexOf("image_name");
                labelColumn = header.IndexOf("label");
                if (nameColumn < 0 || labelColumn < 0)
                    throw new InvalidDataException($"{path}, line {i + 1}: the header '{line}' has no {(nameColumn < 0 ? "image_name" : "label")} column (expected image_name,x_min,y_min,x_max,y_max,label in any order).");
                if (header.Distinct().Count() != header.Count)
                    throw new InvalidDataException($"{path}, line {i + 1}: the header '{line}' repeats a column name.");
                columns = header.Count;
                continue;
            }
            if (fields.Length != columns)
                throw new InvalidDataException($"{path}, line {i + 1}: expected {columns} fields (image_name,x_min,y_min,x_max,y_max,label), got {fields.Length}: '{line}'.");
            fields = [fields[nameColumn], .. fields.Where((_, k) => k != nameColumn && k != labelColumn), fields[labelColumn]];
            string name = Unquote(fields[0].Trim());
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or "..")
                throw new InvalidDataException($"{path}, line {i + 1}: invalid image name '{name}'.");
            if (!int.TryParse(fields[5].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int label))
                throw new InvalidDataException($"{path}, line {i + 1}: label '{fields[5].Trim()}' is not an integer class id.");
            if (label < 1 || label > classNames.Count)
                throw new InvalidDataException($"{path}, line {i + 1}: unknown class id {label} (the names file defines 1..{classNames.Count}).");
            if (!seen.Add(name))
                throw new InvalidDataException($"{path}, line {i + 1}: image '{name}' is listed twice.");
            string file = Path.Combine(imagesFolder, name);
            if (!File.Exists(file))
                throw new FileNotFoundException($"{path}, line {i + 1}: image '{file}' does not exist.", file);
            items.Add(new ImageItem(file, classNames[label - 1]));
        }
        if (items.Count == 0)
            throw new InvalidDataException($"{path} lists no images.");
        return items;
    }

    private static readonly HashSet<string> HeaderNames = new(["image_name", "x_min", "y_min", "x_max", "y_max", "label"], StringComparer.OrdinalIgnoreCase);

    private static int FirstNonEmpty(string[] lines)
    {
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].TrimEnd('\r').Length > 0) return i;
        return -1;
    }

    private static string Unquote(string s) =>
        s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? s[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : s;
}
