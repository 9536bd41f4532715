using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace MLPipelines.Onnx.Protobuf;

/// <summary>Protobuf wire types.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// Minimal protobuf wire-format writer over a growable byte buffer. Nested messages are written
/// in place: the body is written first and then shifted right to make room for its length prefix.
/// </summary>
internal sealed class ProtoWriter
{
    private byte[] _buffer;
    private int _length;

    public ProtoWriter(int initialCapacity = 256) => _buffer = new byte[Math.Max(16, initialCapacity)];

    public int Length => _length;

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length) return;
        long wanted = Math.Max((long)_buffer.Length * 2, (long)_length + extra);
        if (wanted > Array.MaxLength) wanted = Math.Max(Array.MaxLength, _length + extra);
        if (wanted > Array.MaxLength) throw new InvalidOperationException("Serialized protobuf message exceeds the maximum array size (2 GB).");
        Array.Resize(ref _buffer, (int)wanted);
    }

    public void WriteRawVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    public static int VarintSize(ulong value)
    {
        int n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    public void WriteTag(int field, WireType type) => WriteRawVarint(((ulong)(uint)field << 3) | (uint)type);

    /// <summary>int32/int64/enum varint; negative values are sign-extended to 10 bytes as protobuf requires.</summary>
    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireType.Varint);
        WriteRawVarint((ulong)value);
    }

    public void WriteUInt64(int field, ulong value)
    {
        WriteTag(field, WireType.Varint);
        WriteRawVarint(value);
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireType.Fixed32);
        Ensure(4);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteDouble(int field, double value)
    {
        WriteTag(field, WireType.Fixed64);
        Ensure(8);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireType.LengthDelimited);
        WriteRawVarint((ulong)value.Length);
        WriteRaw(value);
    }

    /// <summary>Writes a string field when it is present (non-null); an empty string is written, as proto2 does for a set field.</summary>
    public void WriteString(int field, string? value)
    {
        if (value is null) return;
        WriteTag(field, WireType.LengthDelimited);
        int byteCount = Encoding.UTF8.GetByteCount(value);
        WriteRawVarint((ulong)byteCount);
        Ensure(byteCount);
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Writes a length-delimited nested message whose body is produced by <paramref name="body"/>.</summary>
    public void WriteMessage<T>(int field, T state, Action<ProtoWriter, T> body)
    {
        WriteTag(field, WireType.LengthDelimited);
        int start = _length;
        body(this, state);
        int bodyLength = _length - start;
        int prefix = VarintSize((ulong)bodyLength);
        Ensure(prefix);
        Buffer.BlockCopy(_buffer, start, _buffer, start + prefix, bodyLength);
        int p = start;
        ulong v = (ulong)bodyLength;
        while (v >= 0x80) { _buffer[p++] = (byte)(v | 0x80); v >>= 7; }
        _buffer[p] = (byte)v;
        _length += prefix;
    }

    public void WritePackedFloats(int field, IReadOnlyList<float> values)
    {
        if (values.Count == 0) return;
        WriteTag(field, WireType.LengthDelimited);
        WriteRawVarint((ulong)values.Count * 4);
        Ensure(values.Count * 4);
        for (int i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(_length), values[i]);
            _length += 4;
        }
    }

    public void WritePackedDoubles(int field, IReadOnlyList<double> values)
    {
        if (values.Count == 0) return;
        WriteTag(field, WireType.LengthDelimited);
        WriteRawVarint((ulong)values.Count * 8);
        Ensure(values.Count * 8);
        for (int i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_length), values[i]);
            _length += 8;
        }
    }

    /// <summary>Packed varints (int32 values are sign-extended to 64 bits, as protobuf does).</summary>
    public void WritePackedVarints(int field, IReadOnlyList<long> values)
    {
        if (values.Count == 0) return;
        int size = 0;
        for (int i = 0; i < values.Count; i++) size += VarintSize((ulong)values[i]);
        WriteTag(field, WireType.LengthDelimited);
        WriteRawVarint((ulong)size);
        for (int i = 0; i < values.Count; i++) WriteRawVarint((ulong)values[i]);
    }
}

/// <summary>Minimal protobuf wire-format reader over a span. Unknown fields can be skipped or captured raw.</summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ProtoReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly bool IsAtEnd => _pos >= _data.Length;

    public readonly ReadOnlySpan<byte> Slice(int start, int end) => _data[start..end];

    public bool TryReadTag(out int field, out WireType type)
    {
        if (_pos >= _data.Length)
        {
            field = 0;
            type = 0;
            return false;
        }
        ulong tag = ReadVarint();
        if (tag >> 3 > int.MaxValue) throw new InvalidDataException($"Invalid protobuf field number {tag >> 3} at offset {_pos} (a damaged file).");
        field = (int)(tag >> 3);
        type = (WireType)(tag & 7);
        if (field == 0) throw new InvalidDataException($"Invalid protobuf field number 0 at offset {_pos}.");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _data.Length) throw new InvalidDataException("Truncated protobuf varint.");
            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("Malformed protobuf varint (more than 10 bytes).");
    }

    public long ReadInt64() => (long)ReadVarint();

    public int ReadInt32() => (int)ReadVarint();

    public uint ReadFixed32()
    {
        if (_pos + 4 > _data.Length) throw new InvalidDataException("Truncated protobuf fixed32.");
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        if (_pos + 8 > _data.Length) throw new InvalidDataException("Truncated protobuf fixed64.");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_data[_pos..]);
        _pos += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.Int32BitsToSingle((int)ReadFixed32());

    public double ReadDouble() => BitConverter.Int64BitsToDouble((long)ReadFixed64());

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos)) throw new InvalidDataException($"Truncated protobuf length-delimited field ({len} bytes at offset {_pos}).");
        var s = _data.Slice(_pos, (int)len);
        _pos += (int)len;
        return s;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    public void Skip(WireType type)
    {
        switch (type)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: ReadFixed64(); break;
            case WireType.Fixed32: ReadFixed32(); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            case WireType.StartGroup:
                while (TryReadTag(out _, out var inner))
                {
                    if (inner == WireType.EndGroup) return;
                    Skip(inner);
                }
                throw new InvalidDataException("Unterminated protobuf group.");
            default: throw new InvalidDataException($"Unsupported protobuf wire type {(int)type}.");
        }
    }

    /// <summary>Reads a repeated varint field that may be packed or not.</summary>
    public void ReadRepeatedInt64(WireType type, List<long> into)
    {
        if (type == WireType.Varint) { into.Add(ReadInt64()); return; }
        Expect(type, WireType.LengthDelimited);
        var inner = new ProtoReader(ReadBytes());
        while (!inner.IsAtEnd) into.Add(inner.ReadInt64());
    }

    /// <summary>Reads a repeated int32 varint field that may be packed or not.</summary>
    public void ReadRepeatedInt32(WireType type, List<int> into)
    {
        if (type == WireType.Varint) { into.Add(ReadInt32()); return; }
        Expect(type, WireType.LengthDelimited);
        var inner = new ProtoReader(ReadBytes());
        while (!inner.IsAtEnd) into.Add(inner.ReadInt32());
    }

    /// <summary>Reads a repeated uint64 varint field that may be packed or not.</summary>
    public void ReadRepeatedUInt64(WireType type, List<ulong> into)
    {
        if (type == WireType.Varint) { into.Add(ReadVarint()); return; }
        Expect(type, WireType.LengthDelimited);
        var inner = new ProtoReader(ReadBytes());
        while (!inner.IsAtEnd) into.Add(inner.ReadVarint());
    }

    /// <summary>Reads a repeated float field that may be packed or not.</summary>
    public void ReadRepeatedFloat(WireType type, List<float> into)
    {
        if (type == WireType.Fixed32) { into.Add(ReadFloat()); return; }
        Expect(type, WireType.LengthDelimited);
        var bytes = ReadBytes();
        if (bytes.Length % 4 != 0) throw new InvalidDataException("Packed float field length is not a multiple of 4.");
        int n = bytes.Length / 4;
        if (BitConverter.IsLittleEndian)
        {
            into.AddRange(MemoryMarshal.Cast<byte, float>(bytes));
        }
        else
        {
            into.EnsureCapacity(into.Count + n);
            for (int i = 0; i < n; i++) into.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]));
        }
    }

    /// <summary>Reads a repeated double field that may be packed or not.</summary>
    public void ReadRepeatedDouble(WireType type, List<double> into)
    {
        if (type == WireType.Fixed64) { into.Add(ReadDouble()); return; }
        Expect(type, WireType.LengthDelimited);
        var bytes = ReadBytes();
        if (bytes.Length % 8 != 0) throw new InvalidDataException("Packed double field length is not a multiple of 8.");
        int n = bytes.Length / 8;
        into.EnsureCapacity(into.Count + n);
        for (int i = 0; i < n; i++) into.Add(BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]));
    }

    public static void Expect(WireType actual, WireType expected)
    {
        if (actual != expected) throw new InvalidDataException($"Unexpected protobuf wire type {actual}, expected {expected}.");
    }
}
