using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MLPipelines.IO;

namespace MLPipelines.Tests.Data;

public sealed class NpyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // Header dicts exactly as numpy 1.24.2 wrote them (np.save), checked once while developing.
    // Each is padded with spaces to 118 bytes and ends with '\n', after the 10-byte prefix "\x93NUMPY\x01\x00\x76\x00".
    [Theory]
    [InlineData("<f8", new[] { 2, 3 }, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")]
    [InlineData("<f4", new int[0], "{'descr': '<f4', 'fortran_order': False, 'shape': (), }")]
    [InlineData("|u1", new[] { 2, 2, 2 }, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }")]
    [InlineData("<i8", new[] { 5 }, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }")]
    [InlineData("<i4", new[] { 3, 1 }, "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }")]
    [InlineData("|b1", new[] { 4 }, "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }")]
    [InlineData("<U5", new[] { 3 }, "{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }")]
    [InlineData("<f4", new[] { 0 }, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }")]
    [InlineData("<f4", new[] { 10, 64, 64 }, "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 64, 64), }")]
    public void Header_IsByteEqualToNumpy(string descr, int[] shape, string numpyDict)
    {
        var array = MakeArray(descr, shape);
        byte[] header = Npy.BuildHeader(array);

        Assert.Equal(128, header.Length);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0 }, header[..10]);
        string text = Encoding.Latin1.GetString(header, 10, 118);
        Assert.Equal(numpyDict.PadRight(117) + "\n", text);
    }

    [Fact]
    public void Write_Float64_2x3_IsByteEqualToNumpyFile()
    {
        // np.save(b, np.arange(6, dtype='<f8').reshape(2, 3)); b.getvalue().hex() with numpy 1.24.2
        const string numpyHex =
            "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d"
            + "202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a"
            + "0000000000000000000000000000f03f0000000000000040000000000000084000000000000010400000000000001440";
        string path = _dir.Combine("a.npy");
        Npy.Write(path, NpyArray.FromFloat64([0, 1, 2, 3, 4, 5], 2, 3));
        Assert.Equal(numpyHex, Convert.ToHexStringLower(File.ReadAllBytes(path)));
    }

    [Fact]
    public void Write_Unicode_IsByteEqualToNumpyFile()
    {
        // np.save(b, np.array(['a', 'hello', 'xyz'])) with numpy 1.24.2: '<U5', UTF-32LE, NUL padded
        const string numpyData =
            "610000000000000000000000000000000000000068000000650000006c0000006c0000006f00000078000000790000007a0000000000000000000000";
        var arr = NpyArray.FromStrings(["a", "hello", "xyz"]);
        Assert.Equal("<U5", arr.Descr);
        using var ms = new MemoryStream();
        Npy.Write(ms, arr);
        Assert.Equal(numpyData, Convert.ToHexStringLower(ms.ToArray()[128..]));
    }

    [Fact]
    public void RoundTrip_Float32_3d()
    {
        var data = Enumerable.Range(0, 24).Select(i => i * 0.5f - 3f).ToArray();
        string path = _dir.Combine("f4.npy");
        Npy.Write(path, data, 2, 3, 4);
        var back = Npy.Read(path);
        Assert.Equal(NpyDType.Float32, back.DType);
        Assert.Equal([2, 3, 4], back.Shape);
        Assert.False(back.FortranOrder);
        Assert.Equal(data, back.ToFloat32());
        Assert.Equal(data.Select(f => (double)f).ToArray(), back.ToFloat64());
        Assert.DoesNotContain(Directory.GetFiles(_dir.Path), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void RoundTrip_ZeroDimensional()
    {
        string path = _dir.Combine("scalar.npy");
        var scalar = new NpyArray(NpyDType.Float64, [], BitConverter.GetBytes(2.75));
        Npy.Write(path, scalar);
        var back = Npy.Read(path);
        Assert.Empty(back.Shape);
        Assert.Equal(1, back.Length);
        Assert.Equal([2.75], back.ToFloat64());
    }

    [Fact]
    public void RoundTrip_EveryDType()
    {
        var cases = new (NpyArray Array, Action<NpyArray> Check)[]
        {
            (NpyArray.FromFloat32([1.5f, -2f, float.MaxValue], 3), a => Assert.Equal([1.5f, -2f, float.MaxValue], a.ToFloat32())),
            (NpyArray.FromFloat64([Math.PI, -0.0, 1e300, double.NaN], 2, 2), a => Assert.Equal([Math.PI, -0.0, 1e300, double.NaN], a.ToFloat64())),
            (NpyArray.FromUInt8([0, 1, 255, 128], 1, 4), a => { Assert.Equal(new byte[] { 0, 1, 255, 128 }, a.ToUInt8()); Assert.Equal([0f, 1f, 255f, 128f], a.ToFloat32()); }),
            (NpyArray.FromInt64([long.MinValue, -1, 0, long.MaxValue], 4), a => Assert.Equal([long.MinValue, -1, 0, long.MaxValue], a.ToInt64())),
            (NpyArray.FromInt32([int.MinValue, -7, 0, 42, int.MaxValue, 3], 3, 2), a => Assert.Equal([int.MinValue, -7, 0, 42, int.MaxValue, 3], a.ToInt32())),
            (NpyArray.FromBool([true, false, false, true], 2, 2), a => { Assert.Equal([true, false, false, true], a.ToBoolean()); Assert.Equal([1L, 0, 0, 1], a.ToInt64()); }),
            (NpyArray.FromStrings(["six", "eight", "", "çé€𝄞"], 2, 2), a => Assert.Equal(["six", "eight", "", "çé€𝄞"], a.ToStrings())),
        };
        int k = 0;
        foreach (var (array, check) in cases)
        {
            string path = _dir.Combine($"t{k++}.npy");
            Npy.Write(path, array);
            var back = Npy.Read(path);
            Assert.Equal(array.DType, back.DType);
            Assert.Equal(array.Shape, back.Shape);
            Assert.Equal(array.Descr, back.Descr);
            Assert.Equal(0, (File.ReadAllBytes(path).Length - array.Length * array.ItemSize) % 64);
            check(back);
        }
    }

    [Fact]
    public void Read_Version2And3Headers()
    {
        foreach (int version in new[] { 2, 3 })
        {
            string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
            string path = WriteRaw($"v{version}.npy", version, dict, [7, 0, 0, 0, 9, 0, 0, 0]);
            var a = Npy.Read(path);
            Assert.Equal([7, 9], a.ToInt32());
        }
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "Fortran", "<f4")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "big-endian", ">f4")]
    [InlineData("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", "object", "|O")]
    [InlineData("{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype", "<c16")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured", "descr")]
    public void Read_UnsupportedHeaders_NameFileAndDType(string dict, string expected, string dtypeText)
    {
        string path = WriteRaw("bad_file.npy", 1, dict, new byte[64]);
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(dtypeText, ex.Message);
    }

    [Fact]
    public void Read_TruncatedData_NamesFile()
    {
        string path = _dir.Combine("trunc.npy");
        Npy.Write(path, new float[100], 10, 10);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 7)]);
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("393", ex.Message); // 400 - 7 bytes present

        File.WriteAllBytes(path, bytes[..50]); // inside the header
        ex = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Read_NotNpy_NamesFile()
    {
        string path = _dir.Combine("text.npy");
        File.WriteAllText(path, "hello world, not numpy");
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Throws<FileNotFoundException>(() => Npy.Read(_dir.Combine("missing.npy")));
    }

    [Fact]
    public void Conversions_RejectWrongKinds()
    {
        Assert.Throws<InvalidOperationException>(() => NpyArray.FromStrings(["a"]).ToFloat32());
        Assert.Throws<InvalidOperationException>(() => NpyArray.FromFloat32([1f]).ToStrings());
        Assert.Throws<InvalidOperationException>(() => NpyArray.FromFloat32([1f]).ToInt64());
        Assert.Throws<OverflowException>(() => NpyArray.FromInt64([1L << 40]).ToInt32());
        Assert.Throws<ArgumentException>(() => NpyArray.FromFloat32([1f, 2f], 3));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Npz_WithStringLabels_RoundTrips(bool compressed)
    {
        string path = _dir.Combine(compressed ? "c.npz" : "s.npz");
        var dataset = NpyArray.FromFloat32([0, 1, 2, 3, 4, 5], 2, 3);
        var labels = NpyArray.FromStrings(["six", "eight"]);
        Npz.Write(path, new Dictionary<string, NpyArray> { ["dataset"] = dataset, ["labels"] = labels }, compressed);

        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Equal(["dataset.npy", "labels.npy"], zip.Entries.Select(e => e.FullName).ToArray());
            // numpy.savez stores 152-byte and 168-byte entries for these arrays
            Assert.Equal([152L, 168L], zip.Entries.Select(e => e.Length).ToArray());
            Assert.Equal(compressed, zip.Entries[0].CompressedLength < zip.Entries[0].Length);
        }

        var read = Npz.Read(path);
        Assert.Equal([2, 3], read["dataset"].Shape);
        Assert.Equal([0f, 1, 2, 3, 4, 5], read["dataset"].ToFloat32());
        Assert.Equal(["six", "eight"], read["labels"].ToStrings());
    }

    [Fact]
    public void Npz_BadEntry_NamesArchiveAndEntry()
    {
        string path = _dir.Combine("bad.npz");
        using (var fs = File.Create(path))
        using (var zip = new ZipArchive(fs, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("labels.npy").Open();
            s.Write(Encoding.ASCII.GetBytes("garbage"));
        }
        var ex = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("labels.npy", ex.Message);

        File.WriteAllText(path, "not a zip");
        ex = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains(path, ex.Message);
    }

    private string WriteRaw(string name, int version, string dict, byte[] data)
    {
        int prefix = version == 1 ? 10 : 12;
        int total = prefix + dict.Length + 1;
        string header = dict + new string(' ', (64 - total % 64) % 64) + "\n";
        var hb = Encoding.Latin1.GetBytes(header);
        using var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0]);
        var len = new byte[version == 1 ? 2 : 4];
        if (version == 1) BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)hb.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)hb.Length);
        ms.Write(len);
        ms.Write(hb);
        ms.Write(data);
        string path = _dir.Combine(name);
        File.WriteAllBytes(path, ms.ToArray());
        return path;
    }

    private static NpyArray MakeArray(string descr, int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        return descr switch
        {
            "<f8" => NpyArray.FromFloat64(new double[n], shape),
            "<f4" when shape.Length == 0 => new NpyArray(NpyDType.Float32, [], new byte[4]),
            "<f4" => NpyArray.FromFloat32(new float[n], shape),
            "|u1" => NpyArray.FromUInt8(new byte[n], shape),
            "<i8" => NpyArray.FromInt64(new long[n], shape),
            "<i4" => NpyArray.FromInt32(new int[n], shape),
            "|b1" => NpyArray.FromBool(new bool[n], shape),
            "<U5" => NpyArray.FromStrings(Enumerable.Repeat("hello", n).ToArray(), shape),
            _ => throw new ArgumentException(descr),
        };
    }
}
