using MLPipelines.Data;
using MLPipelines.IO;

namespace MLPipelines.Tests.Data;

public sealed class DatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string MakeImageFolder(string name, params (string Class, string[] Files)[] classes)
    {
        string root = _dir.Combine(name);
        Directory.CreateDirectory(root);
        foreach (var (c, files) in classes)
        {
            Directory.CreateDirectory(Path.Combine(root, c));
            foreach (var f in files) Bmp.Write(Path.Combine(root, c, f), Bmp.Solid(2, 2, 10, 20, 30));
        }
        return root;
    }

    [Fact]
    public void ImageFolder_LoadsSortedClassesAndItems()
    {
        string root = MakeImageFolder("ds",
            ("b", ["z.bmp", "A.JPG", "m.Png", "notes.txt"]),
            ("a", ["2.jpeg", "1.webp", "10.gif"]),
            ("10", ["x.BMP"]));
        File.WriteAllText(Path.Combine(root, "LICENSE"), "x");
        Bmp.Write(Path.Combine(root, "stray.bmp"), Bmp.Solid(1, 1, 0, 0, 0));
        Directory.CreateDirectory(Path.Combine(root, ".cache"));

        var ds = ImageFolderDataset.Load(root);

        Assert.Equal(["10", "a", "b"], ds.Classes);
        Assert.Equal(
            ["10/x.BMP", "a/1.webp", "a/10.gif", "a/2.jpeg", "b/A.JPG", "b/m.Png", "b/z.bmp"],
            ds.Items.Select(i => Path.GetRelativePath(root, i.Path).Replace('\\', '/')).ToArray());
        Assert.Equal(["10", "a", "a", "a", "b", "b", "b"], ds.Items.Select(i => i.Label).ToArray());
        Assert.Equal(1, ds.CountsByClass["10"]);
        Assert.Equal(3, ds.CountsByClass["a"]);
        Assert.Equal(3, ds.CountsByClass["b"]);
        Assert.Equal(2, ds.ClassIndex("b"));
        Assert.All(ds.Items, i => Assert.True(Path.IsPathFullyQualified(i.Path)));
    }

    [Fact]
    public void ImageFolder_ClassFilterKeepsGivenOrder()
    {
        string root = MakeImageFolder("ds", ("6", ["a.bmp"]), ("7", ["a.bmp"]), ("8", ["a.bmp", "b.bmp"]));
        var ds = ImageFolderDataset.Load(root, ["8", "6"]);
        Assert.Equal(["8", "6"], ds.Classes);
        Assert.Equal(["8", "8", "6"], ds.Items.Select(i => i.Label).ToArray());
    }

    [Fact]
    public void ImageFolder_Errors_NameTheFolder()
    {
        string missing = _dir.Combine("nope");
        var e1 = Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Load(missing));
        Assert.Contains(missing, e1.Message);

        string root = MakeImageFolder("ds", ("6", ["a.bmp"]), ("8", ["readme.txt"]));
        var e2 = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(root));
        Assert.Contains(Path.Combine(root, "8"), e2.Message);

        var e3 = Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Load(root, ["6", "9"]));
        Assert.Contains(Path.Combine(root, "9"), e3.Message);

        string empty = _dir.Combine("empty");
        Directory.CreateDirectory(empty);
        var e4 = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Load(empty));
        Assert.Contains(empty, e4.Message);

        Assert.Throws<ArgumentException>(() => ImageFolderDataset.Load(root, ["6", "6"]));
        Assert.Throws<ArgumentException>(() => ImageFolderDataset.Load(root, []));
    }

    [Fact]
    public void Locator_AcceptsRootOrDatasetFolder_AndNamesPathsTried()
    {
        string root = _dir.Combine("data");
        string ds = Path.Combine(root, "sign-language-digits");
        Directory.CreateDirectory(Path.Combine(ds, "0"));

        Assert.Equal(ds, DatasetLocator.ResolveDataset("sign-language-digits", root));
        Assert.Equal(ds, DatasetLocator.ResolveDataset("sign-language-digits", ds + "/"));

        string wrong = _dir.Combine("elsewhere");
        var ex = Assert.Throws<DirectoryNotFoundException>(() => DatasetLocator.ResolveDataset("sign-language-digits", wrong));
        Assert.Contains("--data", ex.Message);
        Assert.Contains(Path.Combine(wrong, "sign-language-digits"), ex.Message);
        Assert.Contains(DatasetLocator.EnvironmentVariable, ex.Message);

        Assert.False(DatasetLocator.TryResolveDataset("sign-language-digits", wrong, out string p, out string reason, "--data-root"));
        Assert.Equal("", p);
        Assert.Contains("--data-root", reason);
    }

    [Fact]
    public void Locator_UsesEnvironmentVariableWhenNoOption()
    {
        // The variable's value is passed in (internal overload): setting the real variable would race with
        // other tests that read it.
        const string name = "--data";
        string root = _dir.Combine("envdata");
        Directory.CreateDirectory(Path.Combine(root, "stanford-cars"));
        Assert.True(DatasetLocator.TryResolveDataset("stanford-cars", null, root, out string p, out _, name));
        Assert.Equal(Path.Combine(root, "stanford-cars"), p);

        Assert.False(DatasetLocator.TryResolveDataset("sign-language-digits", "", root, out _, out string reason, name));
        Assert.Contains("environment variable " + DatasetLocator.EnvironmentVariable, reason);
        Assert.Contains(Path.Combine(root, "sign-language-digits"), reason);

        // an explicit option wins over the variable
        string other = _dir.Combine("opt");
        Directory.CreateDirectory(Path.Combine(other, "stanford-cars"));
        Assert.True(DatasetLocator.TryResolveDataset("stanford-cars", other, root, out p, out _, name));
        Assert.Equal(Path.Combine(other, "stanford-cars"), p);

        Assert.False(DatasetLocator.TryResolveDataset("sign-language-digits", null, null, out _, out reason, name));
        Assert.Contains("--data", reason);
        Assert.Contains(DatasetLocator.EnvironmentVariable, reason);
    }

    [Fact]
    public void SignLanguageDigits_LoadAcceptsRootOrFolder()
    {
        string root = _dir.Combine("data");
        string ds = Path.Combine(root, SignLanguageDigits.FolderName);
        for (int d = 0; d < 10; d++) Bmp.Write(Path.Combine(ds, d.ToString(), "IMG_1.JPG"), Bmp.Solid(2, 2, 1, 2, 3));
        Assert.Equal(10, SignLanguageDigits.Load(root).Classes.Count);
        Assert.Equal(["6", "8"], SignLanguageDigits.Load(ds, ["6", "8"]).Classes);
        Assert.Throws<DirectoryNotFoundException>(() => SignLanguageDigits.Load(_dir.Combine("missing")));
    }

    [Fact]
    public void SignLanguageDigits_KaggleNpy_MapsColumnsAndResizes()
    {
        // 3 images of 4x4: image i has all pixels i/10; labels one-hot in columns 1, 0, 9
        int n = 3, h = 4, w = 4;
        var x = new float[n * h * w];
        for (int i = 0; i < n; i++) Array.Fill(x, i / 10f, i * h * w, h * w);
        var y = new float[n * 10];
        y[0 * 10 + 1] = 1; y[1 * 10 + 0] = 1; y[2 * 10 + 9] = 1;
        string xp = _dir.Combine("X.npy"), yp = _dir.Combine("Y.npy");
        Npy.Write(xp, NpyArray.FromFloat64(x.Select(v => (double)v).ToArray(), n, h, w));
        Npy.Write(yp, y, n, 10);

        var identity = SignLanguageDigits.LoadNpy(xp, yp);
        Assert.Equal([1, 0, 9], identity.Labels);
        Assert.Equal(4, identity.Height);

        var kaggle = SignLanguageDigits.LoadNpy(xp, yp, SignLanguageDigits.KaggleReportedColumnToDigit, targetSize: 2);
        Assert.Equal([0, 9, 5], kaggle.Labels);
        Assert.Equal(2, kaggle.Width);
        Assert.Equal(4, kaggle.FeatureLength);
        Assert.All(kaggle.GetImage(1).ToArray(), v => Assert.Equal(0.1f, v, 1e-6f));

        var filtered = SignLanguageDigits.LoadNpy(xp, yp, classes: ["9", "1"]);
        Assert.Equal(["9", "1"], filtered.ClassNames);
        Assert.Equal([1, 0], filtered.Labels);

        y[0 * 10 + 2] = 1; // two ones in row 0
        Npy.Write(yp, y, n, 10);
        var ex = Assert.Throws<InvalidDataException>(() => SignLanguageDigits.LoadNpy(xp, yp));
        Assert.Contains(yp, ex.Message);
    }

    [Fact]
    public void ResizeBilinear_HalfPixelCentres()
    {
        // 1x4 row [0, 1, 2, 3] -> 1x2: samples at 0.5 and 2.5 -> 0.5 and 2.5
        var dst = new float[2];
        InMemoryImageDataset.ResizeBilinear([0f, 1f, 2f, 3f], 1, 4, dst, 1, 2);
        Assert.Equal([0.5f, 2.5f], dst);
        // 2x2 -> 4x4 upscaling: corners keep their value (clamped), centre blends
        var up = new float[16];
        InMemoryImageDataset.ResizeBilinear([0f, 1f, 2f, 3f], 2, 2, up, 4, 4);
        Assert.Equal(0f, up[0]);
        Assert.Equal(3f, up[15]);
        Assert.Equal(0.25f, up[1], 1e-6f); // x = 0.25 between 0 and 1
        Assert.Equal(0.75f, up[5], 1e-6f); // (0.25, 0.25): 0*.5625 + 1*.1875 + 2*.1875 + 3*.0625
    }
}
