using System.IO.Compression;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using MLPipelines.Data;
using MLPipelines.IO;
using MLPipelines.Onnx;
using MLPipelines.Pipelines.Models;

namespace MLPipelines.Tests.Reliability;

/// <summary>
/// Fault injection for every file reader a user can point the tools at (.npy, .npz, the Stanford Cars CSV, the model
/// card, ONNX): random bytes and mutated valid files (flipped bytes, truncation, spliced garbage) must end in the
/// documented exception types only — never an unhandled IndexOutOfRange, NullReference, Overflow or JsonException —
/// and never allocate more than a bound (a hostile header must not make a reader reserve gigabytes).
/// Iteration counts are fixed and small (<see cref="Runs"/>), with a fixed replay seed, so CI stays fast and
/// a failure replays.
/// </summary>
public sealed class ReaderFuzzTests
{
    /// <summary>Cases per property (random bytes and mutations each).</summary>
    internal const int Runs = 100;

    /// <summary>Most bytes one read of a small hostile file may allocate.</summary>
    internal const long AllocationBound = 64L << 20;

    private static readonly Config Settings = Config.QuickThrowOnFailure.WithMaxTest(Runs).WithReplay(1234UL, 5679UL);

    /// <summary>A mutation: byte edits at relative positions, then an optional truncation to a fraction.</summary>
    internal sealed record Mutation(int[] Positions, byte[] Values, int TruncatePercent);

    internal static Gen<Mutation> Mutations =>
        from n in Gen.Choose(1, 8)
        from positions in Gen.ArrayOf(Gen.Choose(0, int.MaxValue), n)
        from values in Gen.ArrayOf(Gen.Choose(0, 255).Select(v => (byte)v), n)
        from truncate in Gen.Frequency((3, Gen.Constant(100)), (1, Gen.Choose(0, 99)))
        select new Mutation(positions, values, truncate);

    internal static byte[] Apply(byte[] valid, Mutation m)
    {
        var bytes = (byte[])valid.Clone();
        for (var i = 0; i < m.Positions.Length && bytes.Length > 0; i++)
            bytes[m.Positions[i] % bytes.Length] = m.Values[i];
        return bytes[..(int)((long)bytes.Length * m.TruncatePercent / 100)];
    }

    private static Gen<byte[]> RandomBytes => Gen.Choose(0, 512).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(v => (byte)v), n));

    /// <summary>Runs <paramref name="read"/> and fails for any exception outside <paramref name="allowed"/> or an allocation over the bound.</summary>
    internal static bool OnlyDocumented(Action read, params Type[] allowed)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            read();
        }
        catch (Exception e) when (allowed.Any(t => t.IsInstanceOfType(e)))
        {
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"Undocumented {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > AllocationBound)
            throw new Xunit.Sdk.XunitException($"A read allocated {allocated:N0} bytes (bound {AllocationBound:N0}).");
        return true;
    }

    private static byte[] ValidNpy()
    {
        using var stream = new MemoryStream();
        Npy.Write(stream, NpyArray.FromFloat32(Enumerable.Range(0, 48).Select(i => i / 3f).ToArray(), 3, 4, 4));
        return stream.ToArray();
    }

    [Fact]
    public void Npy_reader_throws_only_InvalidDataException_on_random_and_mutated_bytes()
    {
        var valid = ValidNpy();
        Check.One(Settings, Prop.ForAll(RandomBytes.ToArbitrary(), bytes =>
            OnlyDocumented(() => Npy.Read(new MemoryStream(bytes), "fuzz.npy").ToFloat32(), typeof(InvalidDataException), typeof(NotSupportedException))));
        Check.One(Settings, Prop.ForAll(Mutations.ToArbitrary(), m =>
            OnlyDocumented(() => Npy.Read(new MemoryStream(Apply(valid, m)), "fuzz.npy").ToFloat32(), typeof(InvalidDataException), typeof(NotSupportedException))));
    }

    [Fact]
    public void Npy_header_that_claims_a_huge_array_is_refused_without_allocating_it()
    {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100), }";
        header = header.PadRight(118) + "\n";
        var bytes = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 }
            .Concat(Encoding.ASCII.GetBytes(header)).Concat(new byte[64]).ToArray();
        OnlyDocumented(() => Assert.Throws<InvalidDataException>(() => Npy.Read(new MemoryStream(bytes), "bomb.npy")), typeof(InvalidDataException));
    }

    [Fact]
    public void Npz_reader_throws_only_documented_exceptions_on_mutated_archives()
    {
        using var dir = new TempFolder();
        var source = Path.Combine(dir.Path, "valid.npz");
        Npz.Write(source, new Dictionary<string, NpyArray>
        {
            ["vectors"] = NpyArray.FromFloat32([1, 2, 3, 4, 5, 6], 2, 3),
            ["labels"] = NpyArray.FromInt64([0, 1], 2),
        }, compressed: true);
        var valid = File.ReadAllBytes(source);
        var target = Path.Combine(dir.Path, "fuzz.npz");
        Check.One(Settings.WithMaxTest(Runs / 2), Prop.ForAll(Mutations.ToArbitrary(), m =>
        {
            File.WriteAllBytes(target, Apply(valid, m));
            return OnlyDocumented(() => Npz.Read(target), typeof(InvalidDataException), typeof(NotSupportedException));
        }));
    }

    [Fact]
    public void Onnx_reader_throws_only_InvalidDataException_on_random_and_mutated_bytes()
    {
        var valid = MinimalOnnx();
        Check.One(Settings, Prop.ForAll(RandomBytes.ToArbitrary(), bytes =>
            OnlyDocumented(() => OnnxModelIO.Parse(bytes), typeof(InvalidDataException))));
        Check.One(Settings, Prop.ForAll(Mutations.ToArbitrary(), m =>
            OnlyDocumented(() => OnnxModelIO.Parse(Apply(valid, m)), typeof(InvalidDataException))));
    }

    private static byte[] MinimalOnnx()
    {
        // A real model from the MLP engine's ONNX exporter: a 4-3-2 network trained for one epoch.
        var data = new MLPipelines.Mlp.MlpDataset([.. Enumerable.Range(0, 32).Select(i => (float)(i % 7))], [.. Enumerable.Range(0, 8).Select(i => i % 2)], 4);
        var architecture = new MLPipelines.Mlp.MlpArchitecture { InputSize = 4, HiddenSizes = [3] };
        var network = new MLPipelines.Mlp.MlpEngine(architecture, new MLPipelines.Mlp.MlpTrainingSettings { Epochs = 1, BatchSize = 4, Seed = 1 }).Train(data).Network;
        return MLPipelines.Mlp.MlpOnnxExporter.Export(network);
    }

    [Fact]
    public void Model_card_reader_names_the_zip_for_any_damaged_card()
    {
        using var dir = new TempFolder();
        var zip = Path.Combine(dir.Path, "model.zip");
        var card = Encoding.UTF8.GetBytes("""{"task":"binary","classes":["6","8"],"image_size":28,"grayscale":true,"image_path_column":"ImagePath","feature_column":"Features","producer":"m1"}""");
        void Write(byte[] content)
        {
            using var stream = File.Create(zip);
            using var archive = new ZipArchive(stream, ZipArchiveMode.Create);
            using var entry = archive.CreateEntry(ModelPackage.CardEntry).Open();
            entry.Write(content);
        }
        Write(card);
        Assert.Equal(28, ModelPackage.ReadCard(zip).ImageSize);
        Check.One(Settings, Prop.ForAll(Mutations.ToArbitrary(), m =>
        {
            Write(Apply(card, m));
            return OnlyDocumented(() =>
            {
                try
                {
                    ModelPackage.ReadCard(zip);
                }
                catch (InvalidDataException e)
                {
                    Assert.Contains(zip, e.Message, StringComparison.Ordinal);
                    throw;
                }
            }, typeof(InvalidDataException));
        }));
        foreach (var bad in new[] { "not json", """{"task":"binary","classes":["6","8"],"image_size":"abc"}""", """{"task":"multiclass","classes":[],"image_size":28}""", "null" })
        {
            Write(Encoding.UTF8.GetBytes(bad));
            Assert.Contains(zip, Assert.Throws<InvalidDataException>(() => ModelPackage.ReadCard(zip)).Message, StringComparison.Ordinal);
        }
        var archiveBytes = File.ReadAllBytes(zip);
        Check.One(Settings.WithMaxTest(Runs / 2), Prop.ForAll(Mutations.ToArbitrary(), m =>
        {
            File.WriteAllBytes(zip, Apply(archiveBytes, m));
            return OnlyDocumented(() => ModelPackage.ReadCard(zip), typeof(InvalidDataException));
        }));
    }

    [Fact]
    public void Stanford_cars_csv_reader_throws_only_documented_exceptions_on_mutated_csv()
    {
        using var dir = new TempFolder();
        var images = Directory.CreateDirectory(Path.Combine(dir.Path, StanfordCars.ImagesFolder)).FullName;
        foreach (var name in new[] { "a.jpg", "b.jpg", "c.jpg", "d.jpg" })
            File.WriteAllBytes(Path.Combine(images, name), [0xFF, 0xD8]);
        File.WriteAllText(Path.Combine(dir.Path, StanfordCars.NamesFile), "class_id,class_name\n1,Audi\n2,BMW\n3,Fiat\n");
        var csv = Encoding.UTF8.GetBytes("image_name,x_min,y_min,x_max,y_max,label\na.jpg,1,2,3,4,1\nb.jpg,1,2,3,4,2\nc.jpg,1,2,3,4,1\nd.jpg,1,2,3,4,2\n");
        var path = Path.Combine(dir.Path, StanfordCars.AnnotationsFile);
        File.WriteAllBytes(path, csv);
        var read = StanfordCars.Load(dir.Path);
        Assert.Equal(["Audi", "BMW"], read.Classes); // Fiat has no image: left out, and said so
        Assert.Contains("2 of the 3 classes", Assert.Single(read.Notes), StringComparison.Ordinal);
        Check.One(Settings, Prop.ForAll(Mutations.ToArbitrary(), m =>
        {
            File.WriteAllBytes(path, Apply(csv, m));
            return OnlyDocumented(() => StanfordCars.Load(dir.Path), typeof(InvalidDataException), typeof(FileNotFoundException));
        }));
    }

    [Fact]
    public void Stanford_cars_csv_columns_are_read_by_header_name()
    {
        using var dir = new TempFolder();
        var images = Directory.CreateDirectory(Path.Combine(dir.Path, StanfordCars.ImagesFolder)).FullName;
        foreach (var name in new[] { "a.jpg", "b.jpg" })
            File.WriteAllBytes(Path.Combine(images, name), [0xFF, 0xD8]);
        File.WriteAllText(Path.Combine(dir.Path, StanfordCars.NamesFile), "class_id,class_name\n1,Audi\n2,BMW\n");
        File.WriteAllText(Path.Combine(dir.Path, StanfordCars.AnnotationsFile), "label,x_min,y_min,x_max,y_max,image_name\n2,1,2,3,4,a.jpg\n1,1,2,3,4,b.jpg\n");
        var read = StanfordCars.Load(dir.Path);
        Assert.Equal("BMW", read.Items.Single(i => i.Path.EndsWith("a.jpg", StringComparison.Ordinal)).Label);
        File.WriteAllText(Path.Combine(dir.Path, StanfordCars.AnnotationsFile), "image_name,x_min,y_min,x_max,y_max,class\na.jpg,1,2,3,4,2\n");
        var error = Assert.Throws<InvalidDataException>(() => StanfordCars.Load(dir.Path));
        Assert.Contains(StanfordCars.AnnotationsFile, error.Message, StringComparison.Ordinal);
        Assert.Contains("label", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlp-rel-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
