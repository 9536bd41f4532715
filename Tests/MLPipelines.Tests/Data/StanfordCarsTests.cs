using MLPipelines.Data;
using MLPipelines.Testing;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Data;

/// <summary>The Stanford Cars loader on tiny generated fixtures (CSV and folder forms) and, when present, the real copy.</summary>
public sealed class StanfordCarsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-cars-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Writes cars_train/ with <paramref name="images"/> (name, class id), anno_train.csv and names.csv (CRLF).</summary>
    private string Fixture(string name, (string Image, int Label)[] images, string[] classNames, bool writeImages = true)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(Path.Combine(folder, StanfordCars.ImagesFolder));
        var pixels = new byte[8 * 8];
        if (writeImages)
        {
            foreach (var (image, _) in images)
                File.WriteAllBytes(Path.Combine(folder, StanfordCars.ImagesFolder, image), SyntheticImages.Bmp(pixels, 8, 8));
        }
        File.WriteAllText(Path.Combine(folder, StanfordCars.AnnotationsFile),
            "image_name,x_min,y_min,x_max,y_max,label\n" + string.Concat(images.Select(i => $"{i.Image},1,2,30,40,{i.Label}\n")));
        File.WriteAllText(Path.Combine(folder, StanfordCars.NamesFile),
            "class_id,class_name\r\n" + string.Concat(classNames.Select((c, i) => $"{i + 1},{c}\r\n")));
        return folder;
    }

    [Fact]
    public void Csv_form_gives_class_names_in_id_order_and_items_grouped_by_class()
    {
        var folder = Fixture("ok", [("00001.bmp", 2), ("00002.bmp", 1), ("00003.bmp", 3), ("00004.bmp", 2)],
            ["Acura RL Sedan 2012", "Ram C/V Cargo Van Minivan 2012", "Zeta Z 2001"]);
        var data = StanfordCars.Load(folder);
        Assert.Equal(["Acura RL Sedan 2012", "Ram C/V Cargo Van Minivan 2012", "Zeta Z 2001"], data.Classes);
        Assert.Equal(["00002.bmp", "00001.bmp", "00004.bmp", "00003.bmp"], data.Items.Select(i => Path.GetFileName(i.Path)));
        Assert.Equal("Ram C/V Cargo Van Minivan 2012", data.Items[1].Label);
        Assert.Equal(2, data.CountsByClass["Ram C/V Cargo Van Minivan 2012"]);

        var two = StanfordCars.Load(folder, ["Zeta Z 2001", "Acura RL Sedan 2012"]);
        Assert.Equal(["Zeta Z 2001", "Acura RL Sedan 2012"], two.Classes);
        Assert.Equal(["00003.bmp", "00002.bmp"], two.Items.Select(i => Path.GetFileName(i.Path)));
        Assert.Contains("Nope", Assert.Throws<ArgumentException>(() => StanfordCars.Load(folder, ["Nope"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_name_the_file_and_line()
    {
        var missingImage = Fixture("missing-image", [("00001.bmp", 1), ("00002.bmp", 1)], ["A"]);
        File.Delete(Path.Combine(missingImage, StanfordCars.ImagesFolder, "00002.bmp"));
        var e1 = Assert.Throws<FileNotFoundException>(() => StanfordCars.Load(missingImage));
        Assert.Contains("00002.bmp", e1.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", e1.Message, StringComparison.Ordinal);

        var unknown = Fixture("unknown-id", [("00001.bmp", 1), ("00002.bmp", 7)], ["A", "B"]);
        var e2 = Assert.Throws<InvalidDataException>(() => StanfordCars.Load(unknown));
        Assert.Contains(StanfordCars.AnnotationsFile, e2.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", e2.Message, StringComparison.Ordinal);
        Assert.Contains("7", e2.Message, StringComparison.Ordinal);

        var noNames = Fixture("no-names", [("00001.bmp", 1)], ["A"]);
        File.Delete(Path.Combine(noNames, StanfordCars.NamesFile));
        Assert.Contains(StanfordCars.NamesFile, Assert.Throws<FileNotFoundException>(() => StanfordCars.Load(noNames)).Message, StringComparison.Ordinal);

        var noAnnotations = Fixture("no-annotations", [("00001.bmp", 1)], ["A"]);
        File.Delete(Path.Combine(noAnnotations, StanfordCars.AnnotationsFile));
        Assert.Contains(StanfordCars.AnnotationsFile, Assert.Throws<FileNotFoundException>(() => StanfordCars.Load(noAnnotations)).Message, StringComparison.Ordinal);

        var badLine = Fixture("bad-line", [("00001.bmp", 1)], ["A"]);
        File.AppendAllText(Path.Combine(badLine, StanfordCars.AnnotationsFile), "00009.bmp,1,2\n");
        Assert.Contains("line 3", Assert.Throws<InvalidDataException>(() => StanfordCars.Load(badLine)).Message, StringComparison.Ordinal);

        Assert.Throws<DirectoryNotFoundException>(() => StanfordCars.Load(Path.Combine(_root, "nowhere")));
    }

    [Fact]
    public void Folder_per_class_form_is_accepted()
    {
        var folder = SyntheticImages.Write(Path.Combine(_root, StanfordCars.FolderName), ["Audi A4", "BMW M3"], perClass: 2, seed: 1, size: 8);
        var data = StanfordCars.Load(folder);
        Assert.Equal(["Audi A4", "BMW M3"], data.Classes);
        Assert.Equal(4, data.Items.Count);
    }

    [SkippableFact]
    public void Real_stanford_cars_has_196_classes_in_id_order()
    {
        var folder = TestData.RequireDataset(StanfordCars.FolderName);
        var data = StanfordCars.Load(folder);
        output.WriteLine($"{data.Items.Count} images, {data.Classes.Count} classes; first '{data.Classes[0]}', last '{data.Classes[^1]}'");
        Assert.Equal(196, data.Classes.Count);
        Assert.Equal("AM General Hummer SUV 2000", data.Classes[0]);
        Assert.Equal(6598, data.Items.Count);
        Assert.All(data.Classes, c => Assert.True(data.CountsByClass[c] >= 20, c));
    }
}
