using MLPipelines.Onnx.Protobuf;

namespace MLPipelines.Onnx;

/// <summary>
/// Base class of the hand-written ONNX protobuf messages. Fields that this object model does not know
/// (for example sparse initializers or training info) are kept as raw bytes and written back unchanged,
/// so a parsed model re-serializes without losing information.
/// </summary>
public abstract class OnnxMessage
{
    private protected OnnxMessage()
    {
    }

    /// <summary>Raw wire bytes (tag and value) of fields not modelled by this class, in read order.</summary>
    internal byte[]? UnknownFields { get; set; }

    /// <summary>Serializes this message to protobuf wire format.</summary>
    public byte[] ToBytes()
    {
        var w = new ProtoWriter(1024);
        WriteTo(w);
        return w.ToArray();
    }

    internal void WriteTo(ProtoWriter w)
    {
        WriteFields(w);
        if (UnknownFields is { Length: > 0 } unknown) w.WriteRaw(unknown);
    }

    private protected abstract void WriteFields(ProtoWriter w);

    /// <summary>Reads one known field; returns false (consuming nothing) for an unknown field.</summary>
    private protected abstract bool ReadField(ref ProtoReader r, int field, WireType type);

    /// <summary>Called once before fields are read.</summary>
    private protected virtual void BeginParse()
    {
    }

    internal void MergeFrom(ReadOnlySpan<byte> data)
    {
        BeginParse();
        var r = new ProtoReader(data);
        while (true)
        {
            int start = r.Position;
            if (!r.TryReadTag(out int field, out var type)) break;
            if (ReadField(ref r, field, type)) continue;
            r.Skip(type);
            var raw = r.Slice(start, r.Position);
            UnknownFields = UnknownFields is null ? raw.ToArray() : [.. UnknownFields, .. raw];
        }
    }

    internal static T ParseMessage<T>(ReadOnlySpan<byte> data)
        where T : OnnxMessage, new()
    {
        var m = new T();
        m.MergeFrom(data);
        return m;
    }

    private protected static T ReadMessage<T>(ref ProtoReader r, WireType type)
        where T : OnnxMessage, new()
    {
        ProtoReader.Expect(type, WireType.LengthDelimited);
        return ParseMessage<T>(r.ReadBytes());
    }

    private protected static void WriteMessage(ProtoWriter w, int field, OnnxMessage? message)
    {
        if (message is null) return;
        w.WriteMessage(field, message, static (writer, m) => m.WriteTo(writer));
    }

    private protected static void WriteMessages<T>(ProtoWriter w, int field, List<T> messages)
        where T : OnnxMessage
    {
        foreach (var m in messages) WriteMessage(w, field, m);
    }
}
