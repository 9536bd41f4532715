using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace MLPipelines.IO;

/// <summary>Element types supported by the <c>.npy</c> reader and writer.</summary>
public enum NpyDType
{
    /// <summary>32-bit IEEE float, numpy descr <c>&lt;f4</c>.</summary>
    Float32,
    /// <summary>64-bit IEEE float, numpy descr <c>&lt;f8</c>.</summary>
    Float64,
    /// <summary>Unsigned byte, numpy descr <c>|u1</c>.</summary>
    UInt8,
    /// <summary>64-bit signed integer, numpy descr <c>&lt;i8</c>.</summary>
    Int64,
    /// <summary>32-bit signed integer, numpy descr <c>&lt;i4</c>.</summary>
    Int32,
    /// <summary>Boolean stored as one byte (0 or 1), numpy descr <c>|b1</c>.</summary>
    Bool,
    /// <summary>Fixed-width UTF-32 little-endian string, numpy descr <c>&lt;U{n}</c>.</summary>
    Unicode,
}

/// <summary>
/// An n-dimensional array read from or written to numpy's <c>.npy</c> format. Data is kept as raw
/// little-endian bytes in C (row-major) order; the <c>To*</c> methods convert to .NET arrays.
/// </summary>
public sealed class NpyArray
{
    private readonly byte[] _data;

    /// <summary>Creates an array from raw little-endian bytes in C order.</summary>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">Dimensions; an empty array means a 0-d (scalar) array.</param>
    /// <param name="data">Raw element bytes; length must equal element count × item size.</param>
    /// <param name="unicodeLength">For <see cref="NpyDType.Unicode"/>: characters per element (the n of <c>&lt;U{n}</c>); ignored otherwise.</param>
    /// <exception cref="ArgumentException">The shape has a negative dimension, or the data length does not match.</exception>
    public NpyArray(NpyDType dtype, int[] shape, byte[] data, int unicodeLength = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (dtype == NpyDType.Unicode && unicodeLength < 0)
            throw new ArgumentOutOfRangeException(nameof(unicodeLength), unicodeLength, "unicodeLength must be >= 0.");
        DType = dtype;
        Shape = (int[])shape.Clone();
        UnicodeLength = dtype == NpyDType.Unicode ? unicodeLength : 0;
        Length = CountElements(Shape, nameof(shape));
        long expected = Length * ItemSize;
        if (data.LongLength != expected)
            throw new ArgumentException(
                $"Data has {data.LongLength} bytes but shape {FormatShape(Shape)} of {Descr} needs {expected}.", nameof(data));
        _data = data;
    }

    /// <summary>Dimensions of the array (empty for a 0-d array).</summary>
    public int[] Shape { get; }

    /// <summary>Element type.</summary>
    public NpyDType DType { get; }

    /// <summary>
    /// Whether the data is in Fortran (column-major) order. Always <see langword="false"/>: the reader
    /// rejects Fortran-order files and the writer produces C order only.
    /// </summary>
    public bool FortranOrder => false;

    /// <summary>Characters per element for <see cref="NpyDType.Unicode"/> arrays; 0 otherwise.</summary>
    public int UnicodeLength { get; }

    /// <summary>Number of elements (product of <see cref="Shape"/>; 1 for a 0-d array).</summary>
    public long Length { get; }

    /// <summary>Bytes per element.</summary>
    public int ItemSize => ItemSizeOf(DType, UnicodeLength);

    /// <summary>The numpy type descriptor, e.g. <c>&lt;f4</c>, <c>|u1</c> or <c>&lt;U5</c>.</summary>
    public string Descr => DescrOf(DType, UnicodeLength);

    /// <summary>The raw little-endian element bytes in C order (not a copy).</summary>
    public ReadOnlySpan<byte> RawData => _data;

    /// <summary>Creates a <see cref="NpyDType.Float32"/> array; <paramref name="shape"/> defaults to 1-d of the data length.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match).</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromFloat32(float[] data, params int[] shape) =>
        FromPrimitive(NpyDType.Float32, data, shape, sizeof(float));

    /// <summary>Creates a <see cref="NpyDType.Float64"/> array.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromFloat64(double[] data, params int[] shape) =>
        FromPrimitive(NpyDType.Float64, data, shape, sizeof(double));

    /// <summary>Creates a <see cref="NpyDType.UInt8"/> array.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromUInt8(byte[] data, params int[] shape) =>
        FromPrimitive(NpyDType.UInt8, data, shape, 1);

    /// <summary>Creates a <see cref="NpyDType.Int32"/> array.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromInt32(int[] data, params int[] shape) =>
        FromPrimitive(NpyDType.Int32, data, shape, sizeof(int));

    /// <summary>Creates a <see cref="NpyDType.Int64"/> array.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromInt64(long[] data, params int[] shape) =>
        FromPrimitive(NpyDType.Int64, data, shape, sizeof(long));

    /// <summary>Creates a <see cref="NpyDType.Bool"/> array.</summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromBool(bool[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        var bytes = new byte[data.Length];
        for (int i = 0; i < data.Length; i++) bytes[i] = data[i] ? (byte)1 : (byte)0;
        return new NpyArray(NpyDType.Bool, DefaultShape(shape, data.Length), bytes);
    }

    /// <summary>
    /// Creates a <see cref="NpyDType.Unicode"/> array (<c>&lt;U{n}</c>, n = the longest string in UTF-32
    /// code points, at least 1, as numpy chooses it). Strings must not contain NUL characters.
    /// </summary>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions (element count must match); empty means 1-d.</param>
    /// <returns>The new array.</returns>
    public static NpyArray FromStrings(string[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        var encoded = new int[data.Length][];
        int n = 1;
        for (int i = 0; i < data.Length; i++)
        {
            string s = data[i] ?? throw new ArgumentException($"Element {i} is null.", nameof(data));
            if (s.Contains('\0', StringComparison.Ordinal))
                throw new ArgumentException($"Element {i} contains a NUL character, which numpy strings cannot hold.", nameof(data));
            var cps = new List<int>(s.Length);
            foreach (var rune in s.EnumerateRunes()) cps.Add(rune.Value);
            encoded[i] = cps.ToArray();
            n = Math.Max(n, encoded[i].Length);
        }
        var bytes = new byte[(long)data.Length * n * 4];
        for (int i = 0; i < data.Length; i++)
            for (int c = 0; c < encoded[i].Length; c++)
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((i * n + c) * 4), encoded[i][c]);
        return new NpyArray(NpyDType.Unicode, DefaultShape(shape, data.Length), bytes, n);
    }

    /// <summary>Converts numeric (or bool) elements to <see cref="float"/>, in C order.</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The array holds strings.</exception>
    public float[] ToFloat32()
    {
        if (DType == NpyDType.Float32) return Cast<float>();
        var d = ToFloat64();
        var r = new float[d.Length];
        for (int i = 0; i < d.Length; i++) r[i] = (float)d[i];
        return r;
    }

    /// <summary>Converts numeric (or bool) elements to <see cref="double"/>, in C order.</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The array holds strings.</exception>
    public double[] ToFloat64()
    {
        var r = new double[Length];
        switch (DType)
        {
            case NpyDType.Float64: return Cast<double>();
            case NpyDType.Float32: { var s = Cast<float>(); for (long i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.UInt8:
            case NpyDType.Bool: for (long i = 0; i < r.Length; i++) r[i] = _data[i]; break;
            case NpyDType.Int32: { var s = Cast<int>(); for (long i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.Int64: { var s = Cast<long>(); for (long i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            default: throw NotNumeric();
        }
        return r;
    }

    /// <summary>Converts integer, bool or byte elements to <see cref="long"/>; floats are rejected.</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The array holds floats or strings.</exception>
    public long[] ToInt64()
    {
        var r = new long[Length];
        switch (DType)
        {
            case NpyDType.Int64: return Cast<long>();
            case NpyDType.Int32: { var s = Cast<int>(); for (long i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case NpyDType.UInt8:
            case NpyDType.Bool: for (long i = 0; i < r.Length; i++) r[i] = _data[i]; break;
            default: throw new InvalidOperationException($"Cannot convert a '{Descr}' array to integers; use ToFloat32/ToFloat64.");
        }
        return r;
    }

    /// <summary>Converts integer, bool or byte elements to <see cref="int"/>; 64-bit values out of range throw.</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The array holds floats or strings.</exception>
    /// <exception cref="OverflowException">An <c>&lt;i8</c> value does not fit in 32 bits.</exception>
    public int[] ToInt32()
    {
        if (DType == NpyDType.Int32) return Cast<int>();
        var l = ToInt64();
        var r = new int[l.Length];
        for (int i = 0; i < l.Length; i++) r[i] = checked((int)l[i]);
        return r;
    }

    /// <summary>Returns a copy of the bytes of a <see cref="NpyDType.UInt8"/> or <see cref="NpyDType.Bool"/> array.</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The element type is wider than one byte.</exception>
    public byte[] ToUInt8()
    {
        if (DType is not (NpyDType.UInt8 or NpyDType.Bool))
            throw new InvalidOperationException($"ToUInt8 needs a '|u1' or '|b1' array, not '{Descr}'.");
        return (byte[])_data.Clone();
    }

    /// <summary>Converts a <see cref="NpyDType.Bool"/> array (any non-zero byte is true).</summary>
    /// <returns>A new array of <see cref="Length"/> elements.</returns>
    /// <exception cref="InvalidOperationException">The array is not boolean.</exception>
    public bool[] ToBoolean()
    {
        if (DType != NpyDType.Bool)
            throw new InvalidOperationException($"ToBoolean needs a '|b1' array, not '{Descr}'.");
        var r = new bool[Length];
        for (long i = 0; i < r.Length; i++) r[i] = _data[i] != 0;
        return r;
    }

    /// <summary>Decodes a <see cref="NpyDType.Unicode"/> (<c>&lt;U{n}</c>) array; trailing NUL padding is removed.</summary>
    /// <returns>A new array of <see cref="Length"/> strings.</returns>
    /// <exception cref="InvalidOperationException">The array is not a Unicode string array.</exception>
    /// <exception cref="InvalidDataException">An element holds an invalid code point.</exception>
    public string[] ToStrings()
    {
        if (DType != NpyDType.Unicode)
            throw new InvalidOperationException($"ToStrings needs a '<U' string array, not '{Descr}'.");
        var r = new string[Length];
        var sb = new StringBuilder();
        for (long i = 0; i < r.Length; i++)
        {
            sb.Clear();
            for (int c = 0; c < UnicodeLength; c++)
            {
                int cp = BinaryPrimitives.ReadInt32LittleEndian(_data.AsSpan((int)((i * UnicodeLength + c) * 4)));
                if (cp == 0) break;
                if (!Rune.IsValid(cp))
                    throw new InvalidDataException($"Element {i} of a '{Descr}' array holds invalid code point 0x{cp:X}.");
                sb.Append(new Rune(cp).ToString());
            }
            r[i] = sb.ToString();
        }
        return r;
    }

    internal static string DescrOf(NpyDType dtype, int unicodeLength) => dtype switch
    {
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        NpyDType.UInt8 => "|u1",
        NpyDType.Int64 => "<i8",
        NpyDType.Int32 => "<i4",
        NpyDType.Bool => "|b1",
        NpyDType.Unicode => "<U" + unicodeLength.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    internal static int ItemSizeOf(NpyDType dtype, int unicodeLength) => dtype switch
    {
        NpyDType.Float32 or NpyDType.Int32 => 4,
        NpyDType.Float64 or NpyDType.Int64 => 8,
        NpyDType.UInt8 or NpyDType.Bool => 1,
        NpyDType.Unicode => 4 * unicodeLength,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    internal static long CountElements(int[] shape, string paramName)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.", paramName);
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>Formats a shape as numpy prints it: <c>()</c>, <c>(3,)</c>, <c>(2, 3)</c> (for error messages).</summary>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The shape as text.</returns>
    public static string FormatShape(int[] shape) => shape.Length switch
    {
        0 => "()",
        1 => "(" + shape[0].ToString(CultureInfo.InvariantCulture) + ",)",
        _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
    };

    private static int[] DefaultShape(int[]? shape, int length) =>
        shape is null || shape.Length == 0 ? [length] : shape;

    private static NpyArray FromPrimitive<T>(NpyDType dtype, T[] data, int[]? shape, int size) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        var bytes = new byte[(long)data.Length * size];
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(bytes);
        return new NpyArray(dtype, DefaultShape(shape, data.Length), bytes);
    }

    private T[] Cast<T>() where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Big-endian hosts are not supported.");
        var r = new T[Length];
        _data.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(r.AsSpan()));
        return r;
    }

    private InvalidOperationException NotNumeric() =>
        new($"Cannot convert a '{Descr}' string array to numbers; use ToStrings.");
}

/// <summary>
/// Reads and writes numpy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0; little-endian
/// <c>&lt;f4 &lt;f8 |u1 &lt;i8 &lt;i4 |b1 &lt;U{n}</c>, C order). Headers are written byte-for-byte as
/// numpy 1.24 writes them (sorted dict keys, growth padding, 64-byte alignment).
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int ArrayAlign = 64;
    private const int GrowthAxisMaxDigits = 21;

    /// <summary>Reads a <c>.npy</c> file.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The array.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid or supported <c>.npy</c> file; the message names it.</exception>
    public static NpyArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The .npy file '{path}' does not exist.", path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(fs, path);
    }

    /// <summary>Reads a <c>.npy</c> array from a stream (which need not be seekable).</summary>
    /// <param name="stream">Positioned at the magic string.</param>
    /// <param name="nameForErrors">File or entry name used in error messages.</param>
    /// <returns>The array.</returns>
    /// <exception cref="InvalidDataException">The data is not a valid or supported <c>.npy</c> array; the message names <paramref name="nameForErrors"/>.</exception>
    public static NpyArray Read(Stream stream, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        nameForErrors ??= "<stream>";
        var prefix = new byte[8];
        ReadExactly(stream, prefix, nameForErrors, "the magic string");
        if (!prefix.AsSpan(0, 6).SequenceEqual(Magic))
            throw new InvalidDataException($"'{nameForErrors}' is not a .npy file (bad magic string).");
        int major = prefix[6], minor = prefix[7];
        int headerLen;
        if (major == 1)
        {
            var b = new byte[2];
            ReadExactly(stream, b, nameForErrors, "the header length");
            headerLen = BinaryPrimitives.ReadUInt16LittleEndian(b);
        }
        else if (major is 2 or 3)
        {
            var b = new byte[4];
            ReadExactly(stream, b, nameForErrors, "the header length");
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(b);
            if (l > 64 * 1024 * 1024)
                throw new InvalidDataException($"'{nameForErrors}': header length {l} is implausibly large.");
            headerLen = (int)l;
        }
        else
        {
            throw new InvalidDataException($"'{nameForErrors}': unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported).");
        }
        var headerBytes = new byte[headerLen];
        ReadExactly(stream, headerBytes, nameForErrors, "the header");
        string header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);

        Dictionary<string, object?> dict;
        try
        {
            dict = new PyLiteralParser(header).ParseDict();
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"'{nameForErrors}': cannot parse the .npy header {header.Trim()}: {ex.Message}", ex);
        }
        if (!dict.TryGetValue("descr", out var descrObj) || !dict.TryGetValue("fortran_order", out var fortranObj)
            || !dict.TryGetValue("shape", out var shapeObj))
            throw new InvalidDataException($"'{nameForErrors}': the .npy header lacks 'descr', 'fortran_order' or 'shape': {header.Trim()}");
        if (descrObj is not string descr)
            throw new InvalidDataException($"'{nameForErrors}': structured dtype {header.Trim()} is not supported (only plain little-endian numeric, bool and '<U' dtypes).");
        if (fortranObj is not bool fortran)
            throw new InvalidDataException($"'{nameForErrors}': 'fortran_order' must be True or False.");
        if (shapeObj is not List<object?> shapeList || shapeList.Any(o => o is not long))
            throw new InvalidDataException($"'{nameForErrors}': 'shape' must be a tuple of integers.");
        var shape = new int[shapeList.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            long d = (long)shapeList[i]!;
            if (d < 0 || d > int.MaxValue)
                throw new InvalidDataException($"'{nameForErrors}': shape dimension {d} is out of range.");
            shape[i] = (int)d;
        }

        var (dtype, ulen) = ParseDescr(descr, nameForErrors);
        if (fortran)
            throw new InvalidDataException(
                $"'{nameForErrors}': Fortran-order (column-major) arrays are not supported (dtype '{descr}', shape {NpyArray.FormatShape(shape)}); save with numpy.ascontiguousarray first.");

        long count;
        try
        {
            count = NpyArray.CountElements(shape, nameof(shape));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"'{nameForErrors}': shape {NpyArray.FormatShape(shape)} is too large.");
        }
        long bytes = count * NpyArray.ItemSizeOf(dtype, ulen);
        if (bytes > Array.MaxLength)
            throw new InvalidDataException($"'{nameForErrors}': array of {bytes} bytes is too large to load into memory in one piece.");
        var data = new byte[bytes];
        int got = ReadAtMost(stream, data);
        if (got < bytes)
            throw new InvalidDataException(
                $"'{nameForErrors}' is truncated: shape {NpyArray.FormatShape(shape)} of '{descr}' needs {bytes} data bytes but only {got} are present.");
        return new NpyArray(dtype, shape, data, ulen);
    }

    /// <summary>Writes a float32 array to <paramref name="path"/> atomically (temporary file, then move).</summary>
    /// <param name="path">Destination file; overwritten if it exists.</param>
    /// <param name="data">Elements in C order.</param>
    /// <param name="shape">Dimensions; empty means 1-d of <paramref name="data"/>'s length.</param>
    public static void Write(string path, float[] data, params int[] shape) => Write(path, NpyArray.FromFloat32(data, shape));

    /// <summary>Writes an array to <paramref name="path"/> atomically (temporary file beside it, then move).</summary>
    /// <param name="path">Destination file; overwritten if it exists.</param>
    /// <param name="array">The array.</param>
    public static void Write(string path, NpyArray array)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(array);
        AtomicFile.Write(path, stream => Write(stream, array));
    }

    /// <summary>Writes an array in <c>.npy</c> format (version 1.0, or 2.0 if the header needs it) to a stream.</summary>
    /// <param name="stream">Destination stream.</param>
    /// <param name="array">The array.</param>
    public static void Write(Stream stream, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        stream.Write(BuildHeader(array));
        stream.Write(array.RawData);
    }

    /// <summary>
    /// Builds the complete header (magic, version, length, dict text) exactly as numpy 1.24's
    /// <c>numpy.save</c> does: dict keys sorted, spare spaces for growing the first axis, then space
    /// padding and a newline up to a multiple of 64 bytes.
    /// </summary>
    /// <param name="array">The array to describe.</param>
    /// <returns>The header bytes.</returns>
    public static byte[] BuildHeader(NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(array);
        string dict = HeaderDictText(array.Descr, array.Shape);
        foreach (int version in new[] { 1, 2 })
        {
            int prefixLen = version == 1 ? 10 : 12;
            int total = prefixLen + dict.Length + 1;
            int pad = (ArrayAlign - total % ArrayAlign) % ArrayAlign;
            int headerLen = dict.Length + pad + 1;
            if (version == 1 && headerLen >= 65536) continue;
            var result = new byte[prefixLen + headerLen];
            Magic.CopyTo(result, 0);
            result[6] = (byte)version;
            result[7] = 0;
            if (version == 1) BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)headerLen);
            else BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(8), (uint)headerLen);
            Encoding.Latin1.GetBytes(dict).CopyTo(result, prefixLen);
            result.AsSpan(prefixLen + dict.Length, pad).Fill((byte)' ');
            result[^1] = (byte)'\n';
            return result;
        }
        throw new InvalidOperationException("Header too large.");
    }

    internal static string HeaderDictText(string descr, int[] shape)
    {
        string text = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + NpyArray.FormatShape(shape) + ", }";
        if (shape.Length > 0)
            text += new string(' ', GrowthAxisMaxDigits - shape[0].ToString(CultureInfo.InvariantCulture).Length);
        return text;
    }

    private static (NpyDType, int) ParseDescr(string descr, string name)
    {
        if (descr.Length < 2)
            throw new InvalidDataException($"'{name}': unknown dtype '{descr}'.");
        char order = descr[0];
        string kind = descr[1..];
        if (kind.StartsWith('O'))
            throw new InvalidDataException($"'{name}': object arrays (dtype '{descr}') need Python pickle and are not supported; save plain numeric or '<U' string arrays.");
        bool oneByte = kind is "u1" or "b1" or "i1";
        if (order == '>' && !oneByte)
            throw new InvalidDataException($"'{name}': big-endian dtype '{descr}' is not supported; convert with array.astype('<{kind}') before saving.");
        if (order is not ('<' or '|' or '=' or '>'))
            throw new InvalidDataException($"'{name}': unknown dtype '{descr}'.");
        switch (kind)
        {
            case "f4": return (NpyDType.Float32, 0);
            case "f8": return (NpyDType.Float64, 0);
            case "u1": return (NpyDType.UInt8, 0);
            case "i8": return (NpyDType.Int64, 0);
            case "i4": return (NpyDType.Int32, 0);
            case "b1": return (NpyDType.Bool, 0);
        }
        if (kind.Length > 1 && kind[0] == 'U'
            && int.TryParse(kind.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 0)
            return (NpyDType.Unicode, n);
        throw new InvalidDataException($"'{name}': unsupported dtype '{descr}' (supported: <f4 <f8 |u1 <i8 <i4 |b1 <U{{n}}).");
    }

    private static void ReadExactly(Stream s, byte[] buffer, string name, string what)
    {
        int got = ReadAtMost(s, buffer);
        if (got < buffer.Length)
            throw new InvalidDataException($"'{name}' is truncated: it ends inside {what} ({got} of {buffer.Length} bytes).");
    }

    private static int ReadAtMost(Stream s, byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer, total, Math.Min(buffer.Length - total, 1 << 20));
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Minimal parser for the Python literal dict in a .npy header.</summary>
    private sealed class PyLiteralParser(string text)
    {
        private int _pos;

        public Dictionary<string, object?> ParseDict()
        {
            SkipWs();
            var v = ParseValue();
            SkipWs();
            if (_pos != text.Length) throw new FormatException($"unexpected text at position {_pos}");
            return v as Dictionary<string, object?> ?? throw new FormatException("the header is not a dict");
        }

        private object? ParseValue()
        {
            SkipWs();
            if (_pos >= text.Length) throw new FormatException("unexpected end");
            char c = text[_pos];
            if (c == '{') return ParseDictBody();
            if (c is '(' or '[') return ParseSeq(c == '(' ? ')' : ']');
            if (c is '\'' or '"') return ParseString();
            if (char.IsDigit(c) || c == '-') return ParseInt();
            if (Match("True")) return true;
            if (Match("False")) return false;
            if (Match("None")) return null;
            throw new FormatException($"unexpected character '{c}' at position {_pos}");
        }

        private Dictionary<string, object?> ParseDictBody()
        {
            _pos++;
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                SkipWs();
                if (Peek() == '}') { _pos++; return d; }
                if (ParseValue() is not string key) throw new FormatException("dict keys must be strings");
                SkipWs();
                Expect(':');
                d[key] = ParseValue();
                SkipWs();
                if (Peek() == ',') { _pos++; continue; }
                SkipWs();
                Expect('}');
                return d;
            }
        }

        private List<object?> ParseSeq(char close)
        {
            _pos++;
            var l = new List<object?>();
            while (true)
            {
                SkipWs();
                if (Peek() == close) { _pos++; return l; }
                l.Add(ParseValue());
                SkipWs();
                if (Peek() == ',') { _pos++; continue; }
                Expect(close);
                return l;
            }
        }

        private string ParseString()
        {
            char q = text[_pos++];
            var sb = new StringBuilder();
            while (_pos < text.Length && text[_pos] != q)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length) _pos++;
                sb.Append(text[_pos++]);
            }
            Expect(q);
            return sb.ToString();
        }

        private long ParseInt()
        {
            int start = _pos;
            if (text[_pos] == '-') _pos++;
            while (_pos < text.Length && char.IsDigit(text[_pos])) _pos++;
            if (_pos < text.Length && text[_pos] == 'L') _pos++; // Python 2 long suffix
            return long.Parse(text.AsSpan(start, _pos - start).TrimEnd('L'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        private bool Match(string word)
        {
            if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0) return false;
            _pos += word.Length;
            return true;
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void Expect(char c)
        {
            if (Peek() != c) throw new FormatException($"expected '{c}' at position {_pos}");
            _pos++;
        }

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }
    }
}

/// <summary>
/// Reads and writes numpy <c>.npz</c> archives: zip files whose entries are <c>name.npy</c>, stored
/// (<c>numpy.savez</c>) or deflated (<c>numpy.savez_compressed</c>).
/// </summary>
public static class Npz
{
    /// <summary>Reads every <c>.npy</c> entry of an archive.</summary>
    /// <param name="path">The <c>.npz</c> file.</param>
    /// <returns>Arrays keyed by entry name without the <c>.npy</c> suffix (ordinal keys, archive order).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a zip, or an entry is not a supported array; the message names the file and entry.</exception>
    public static IReadOnlyDictionary<string, NpyArray> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The .npz file '{path}' does not exist.", path);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"'{path}' is not a valid .npz (zip) archive: {ex.Message}", ex);
        }
        using (zip)
        {
            var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                string name = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                string where = $"{path}:{entry.FullName}";
                try
                {
                    using var s = entry.Open();
                    result[name] = Npy.Read(s, where);
                }
                catch (InvalidDataException ex) when (!ex.Message.Contains(where, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"'{where}': {ex.Message}", ex);
                }
            }
            return result;
        }
    }

    /// <summary>Writes arrays into a <c>.npz</c> archive atomically (temporary file, then move).</summary>
    /// <param name="path">Destination file; overwritten if it exists.</param>
    /// <param name="arrays">Arrays keyed by name (written as <c>name.npy</c>).</param>
    /// <param name="compressed">Deflate entries (like <c>savez_compressed</c>) instead of storing them (like <c>savez</c>).</param>
    public static void Write(string path, IReadOnlyDictionary<string, NpyArray> arrays, bool compressed = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(arrays);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, array) in arrays)
            {
                var entry = zip.CreateEntry(name + ".npy", compressed ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using var es = entry.Open();
                Npy.Write(es, array);
            }
        });
    }
}
