using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MLPipelines.Onnx.Protobuf;

namespace MLPipelines.Onnx;

/// <summary>
/// ONNX TensorProto: a constant tensor (initializer or attribute value). Numeric data may be stored in the
/// typed fields (float_data, int64_data, ...) or as little-endian raw_data; the Get* accessors read either.
/// </summary>
public sealed class OnnxTensorProto : OnnxMessage
{
    /// <summary>Shape (field 1); empty for a scalar.</summary>
    public List<long> Dims { get; } = [];
    /// <summary>Element type (field 2).</summary>
    public OnnxElementType DataType { get; set; }
    /// <summary>Float elements (field 4, packed).</summary>
    public List<float> FloatData { get; } = [];
    /// <summary>Int32 elements, also used for int8/uint8/int16/uint16/bool/float16 (field 5, packed).</summary>
    public List<int> Int32Data { get; } = [];
    /// <summary>String elements as UTF-8 bytes (field 6).</summary>
    public List<byte[]> StringData { get; } = [];
    /// <summary>Int64 elements (field 7, packed).</summary>
    public List<long> Int64Data { get; } = [];
    /// <summary>Tensor name (field 8).</summary>
    public string Name { get; set; } = "";
    /// <summary>Little-endian raw element bytes (field 9), or null.</summary>
    public byte[]? RawData { get; set; }
    /// <summary>Double elements (field 10, packed).</summary>
    public List<double> DoubleData { get; } = [];
    /// <summary>UInt32/UInt64 elements (field 11, packed).</summary>
    public List<ulong> UInt64Data { get; } = [];
    /// <summary>Documentation (field 12).</summary>
    public string? DocString { get; set; }

    /// <summary>Number of elements implied by <see cref="Dims"/> (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>Parses a serialized TensorProto.</summary>
    public static OnnxTensorProto Parse(ReadOnlySpan<byte> bytes) => ParseMessage<OnnxTensorProto>(bytes);

    /// <summary>Creates a float tensor stored as raw_data.</summary>
    public static OnnxTensorProto FromFloats(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        var t = Create(name, OnnxElementType.Float, data.Length, shape);
        t.SetFloats(data);
        return t;
    }

    /// <summary>Creates an int64 tensor stored as raw_data.</summary>
    public static OnnxTensorProto FromLongs(string name, ReadOnlySpan<long> data, params long[] shape)
    {
        var t = Create(name, OnnxElementType.Int64, data.Length, shape);
        t.SetLongs(data);
        return t;
    }

    /// <summary>Creates an int32 tensor stored as raw_data.</summary>
    public static OnnxTensorProto FromInts(string name, ReadOnlySpan<int> data, params long[] shape)
    {
        var t = Create(name, OnnxElementType.Int32, data.Length, shape);
        t.RawData = ToLittleEndianBytes(data);
        return t;
    }

    /// <summary>Creates a double tensor stored as raw_data.</summary>
    public static OnnxTensorProto FromDoubles(string name, ReadOnlySpan<double> data, params long[] shape)
    {
        var t = Create(name, OnnxElementType.Double, data.Length, shape);
        t.RawData = ToLittleEndianBytes(data);
        return t;
    }

    /// <summary>Creates a string tensor (string_data, UTF-8).</summary>
    public static OnnxTensorProto FromStrings(string name, IReadOnlyList<string> data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        var t = Create(name, OnnxElementType.String, data.Count, shape);
        foreach (var s in data) t.StringData.Add(Encoding.UTF8.GetBytes(s ?? ""));
        return t;
    }

    private static OnnxTensorProto Create(string name, OnnxElementType type, int count, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        shape ??= [];
        var t = new OnnxTensorProto { Name = name, DataType = type };
        t.Dims.AddRange(shape);
        if (shape.Any(d => d < 0)) throw new ArgumentException($"Tensor '{name}': constant shapes cannot have dynamic dimensions.", nameof(shape));
        if (t.ElementCount != count)
        {
            throw new ArgumentException($"Tensor '{name}': shape [{string.Join(",", shape)}] holds {t.ElementCount} elements but {count} were given.", nameof(shape));
        }
        return t;
    }

    /// <summary>Replaces the data with <paramref name="data"/> stored as raw_data (DataType becomes Float).</summary>
    public void SetFloats(ReadOnlySpan<float> data)
    {
        ClearData();
        DataType = OnnxElementType.Float;
        RawData = ToLittleEndianBytes(data);
    }

    /// <summary>Replaces the data with <paramref name="data"/> stored as raw_data (DataType becomes Int64).</summary>
    public void SetLongs(ReadOnlySpan<long> data)
    {
        ClearData();
        DataType = OnnxElementType.Int64;
        RawData = ToLittleEndianBytes(data);
    }

    /// <summary>Clears every data field (typed fields and raw_data).</summary>
    public void ClearData()
    {
        FloatData.Clear();
        Int32Data.Clear();
        StringData.Clear();
        Int64Data.Clear();
        DoubleData.Clear();
        UInt64Data.Clear();
        RawData = null;
    }

    /// <summary>The elements of a Float tensor, from float_data or little-endian raw_data.</summary>
    public float[] GetFloats()
    {
        Require(OnnxElementType.Float);
        return RawData is not null ? FromLittleEndianBytes<float>(RawData) : [.. FloatData];
    }

    /// <summary>The elements of a Double tensor, from double_data or raw_data.</summary>
    public double[] GetDoubles()
    {
        Require(OnnxElementType.Double);
        return RawData is not null ? FromLittleEndianBytes<double>(RawData) : [.. DoubleData];
    }

    /// <summary>The elements of an Int64 tensor, from int64_data or raw_data; smaller integer types and Bool are widened.</summary>
    public long[] GetLongs()
    {
        if (DataType == OnnxElementType.Int64)
        {
            return RawData is not null ? FromLittleEndianBytes<long>(RawData) : [.. Int64Data];
        }
        if (DataType == OnnxElementType.UInt32 || DataType == OnnxElementType.UInt64)
        {
            if (RawData is null) return UInt64Data.Select(v => checked((long)v)).ToArray();
            return DataType == OnnxElementType.UInt32
                ? FromLittleEndianBytes<uint>(RawData).Select(v => (long)v).ToArray()
                : FromLittleEndianBytes<ulong>(RawData).Select(v => checked((long)v)).ToArray();
        }
        return GetInts().Select(v => (long)v).ToArray();
    }

    /// <summary>
    /// The elements of an Int32, Int16, UInt16, Int8, UInt8 or Bool tensor widened to int, from int32_data or raw_data.
    /// </summary>
    public int[] GetInts()
    {
        if (RawData is null)
        {
            if (DataType is OnnxElementType.Int32 or OnnxElementType.Int16 or OnnxElementType.UInt16
                or OnnxElementType.Int8 or OnnxElementType.UInt8 or OnnxElementType.Bool)
            {
                return [.. Int32Data];
            }
        }
        else
        {
            switch (DataType)
            {
                case OnnxElementType.Int32: return FromLittleEndianBytes<int>(RawData);
                case OnnxElementType.Int16: return FromLittleEndianBytes<short>(RawData).Select(v => (int)v).ToArray();
                case OnnxElementType.UInt16: return FromLittleEndianBytes<ushort>(RawData).Select(v => (int)v).ToArray();
                case OnnxElementType.Int8: return RawData.Select(b => (int)(sbyte)b).ToArray();
                case OnnxElementType.UInt8:
                case OnnxElementType.Bool: return RawData.Select(b => (int)b).ToArray();
            }
        }
        throw new InvalidOperationException($"Tensor '{Name}' has element type {DataType}, not a 32-bit-or-smaller integer type.");
    }

    /// <summary>The elements of a String tensor decoded as UTF-8.</summary>
    public string[] GetStrings()
    {
        Require(OnnxElementType.String);
        return StringData.Select(b => Encoding.UTF8.GetString(b)).ToArray();
    }

    private void Require(OnnxElementType type)
    {
        if (DataType != type) throw new InvalidOperationException($"Tensor '{Name}' has element type {DataType}, not {type}.");
    }

    internal static byte[] ToLittleEndianBytes<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        byte[] bytes = MemoryMarshal.AsBytes(data).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEach(bytes, Marshal.SizeOf<T>());
        return bytes;
    }

    internal static T[] FromLittleEndianBytes<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (bytes.Length % size != 0) throw new InvalidDataException($"raw_data length {bytes.Length} is not a multiple of the element size {size}.");
        var result = new T[bytes.Length / size];
        bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        if (!BitConverter.IsLittleEndian) ReverseEach(MemoryMarshal.AsBytes(result.AsSpan()), size);
        return result;
    }

    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    private protected override void WriteFields(ProtoWriter w)
    {
        foreach (long d in Dims) w.WriteInt64(1, d);
        w.WriteInt64(2, (long)DataType);
        w.WritePackedFloats(4, FloatData);
        if (Int32Data.Count > 0) w.WritePackedVarints(5, Int32Data.ConvertAll(v => (long)v));
        foreach (var s in StringData) w.WriteBytes(6, s);
        w.WritePackedVarints(7, Int64Data);
        w.WriteString(8, Name);
        if (RawData is not null) w.WriteBytes(9, RawData);
        w.WritePackedDoubles(10, DoubleData);
        if (UInt64Data.Count > 0) w.WritePackedVarints(11, UInt64Data.ConvertAll(v => (long)v));
        w.WriteString(12, DocString);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: r.ReadRepeatedInt64(type, Dims); return true;
            case 2: DataType = (OnnxElementType)r.ReadInt32(); return true;
            case 4: r.ReadRepeatedFloat(type, FloatData); return true;
            case 5: r.ReadRepeatedInt32(type, Int32Data); return true;
            case 6: StringData.Add(r.ReadBytes().ToArray()); return true;
            case 7: r.ReadRepeatedInt64(type, Int64Data); return true;
            case 8: Name = r.ReadString(); return true;
            case 9: RawData = r.ReadBytes().ToArray(); return true;
            case 10: r.ReadRepeatedDouble(type, DoubleData); return true;
            case 11: r.ReadRepeatedUInt64(type, UInt64Data); return true;
            case 12: DocString = r.ReadString(); return true;
            default: return false;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DataType}[{string.Join(",", Dims)}]";
}
