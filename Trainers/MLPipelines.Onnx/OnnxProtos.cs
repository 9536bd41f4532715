using System.Text;
using MLPipelines.Onnx.Protobuf;

namespace MLPipelines.Onnx;

/// <summary>ONNX tensor element types (TensorProto.DataType).</summary>
public enum OnnxElementType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 2,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string.</summary>
    String = 8,
    /// <summary>Boolean (one byte per element in raw_data).</summary>
    Bool = 9,
    /// <summary>IEEE half-precision float.</summary>
    Float16 = 10,
    /// <summary>64-bit IEEE float.</summary>
    Double = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
}

/// <summary>ONNX AttributeProto.AttributeType.</summary>
public enum OnnxAttributeType
{
    /// <summary>Not set (IR version 1 files); inferred from the populated field on parse.</summary>
    Undefined = 0,
    /// <summary>Single float (field f).</summary>
    Float = 1,
    /// <summary>Single int64 (field i).</summary>
    Int = 2,
    /// <summary>Single byte string (field s).</summary>
    String = 3,
    /// <summary>Single tensor (field t).</summary>
    Tensor = 4,
    /// <summary>Single graph (field g).</summary>
    Graph = 5,
    /// <summary>List of floats.</summary>
    Floats = 6,
    /// <summary>List of int64.</summary>
    Ints = 7,
    /// <summary>List of byte strings.</summary>
    Strings = 8,
    /// <summary>List of tensors.</summary>
    Tensors = 9,
    /// <summary>List of graphs.</summary>
    Graphs = 10,
    /// <summary>Sparse tensor (kept as an unknown field).</summary>
    SparseTensor = 11,
    /// <summary>List of sparse tensors (kept as unknown fields).</summary>
    SparseTensors = 12,
}

/// <summary>ONNX ModelProto: the top-level container of a model.</summary>
public sealed partial class OnnxModelProto : OnnxMessage
{
    /// <summary>IR version (field 1).</summary>
    public long IrVersion { get; set; }
    /// <summary>Operator sets imported by the model (field 8).</summary>
    public List<OnnxOperatorSetIdProto> OpsetImport { get; } = [];
    /// <summary>Producer name (field 2).</summary>
    public string? ProducerName { get; set; }
    /// <summary>Producer version (field 3).</summary>
    public string? ProducerVersion { get; set; }
    /// <summary>Model domain (field 4).</summary>
    public string? Domain { get; set; }
    /// <summary>Model version (field 5).</summary>
    public long ModelVersion { get; set; }
    /// <summary>Documentation (field 6).</summary>
    public string? DocString { get; set; }
    /// <summary>The main graph (field 7).</summary>
    public OnnxGraphProto? Graph { get; set; }
    /// <summary>Metadata key/value pairs (field 14).</summary>
    public List<OnnxStringStringEntryProto> MetadataProps { get; } = [];

    /// <summary>Parses a serialized ModelProto.</summary>
    public static OnnxModelProto Parse(ReadOnlySpan<byte> bytes) => ParseMessage<OnnxModelProto>(bytes);

    /// <summary>The opset version imported for the default ONNX domain ("" or "ai.onnx"), or null if none.</summary>
    public long? DefaultOpsetVersion =>
        OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version;

    private protected override void WriteFields(ProtoWriter w)
    {
        w.WriteInt64(1, IrVersion);
        w.WriteString(2, ProducerName);
        w.WriteString(3, ProducerVersion);
        w.WriteString(4, Domain);
        if (ModelVersion != 0) w.WriteInt64(5, ModelVersion);
        w.WriteString(6, DocString);
        WriteMessage(w, 7, Graph);
        WriteMessages(w, 8, OpsetImport);
        WriteMessages(w, 14, MetadataProps);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: IrVersion = r.ReadInt64(); return true;
            case 2: ProducerName = r.ReadString(); return true;
            case 3: ProducerVersion = r.ReadString(); return true;
            case 4: Domain = r.ReadString(); return true;
            case 5: ModelVersion = r.ReadInt64(); return true;
            case 6: DocString = r.ReadString(); return true;
            case 7: Graph = ReadMessage<OnnxGraphProto>(ref r, type); return true;
            case 8: OpsetImport.Add(ReadMessage<OnnxOperatorSetIdProto>(ref r, type)); return true;
            case 14: MetadataProps.Add(ReadMessage<OnnxStringStringEntryProto>(ref r, type)); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX OperatorSetIdProto: an imported operator set.</summary>
public sealed class OnnxOperatorSetIdProto : OnnxMessage
{
    /// <summary>Domain; empty for the default ONNX domain (field 1).</summary>
    public string? Domain { get; set; }
    /// <summary>Operator set version (field 2).</summary>
    public long Version { get; set; }

    private protected override void WriteFields(ProtoWriter w)
    {
        w.WriteString(1, Domain);
        w.WriteInt64(2, Version);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Domain = r.ReadString(); return true;
            case 2: Version = r.ReadInt64(); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX StringStringEntryProto: a metadata key/value pair.</summary>
public sealed class OnnxStringStringEntryProto : OnnxMessage
{
    /// <summary>Key (field 1).</summary>
    public string? Key { get; set; }
    /// <summary>Value (field 2).</summary>
    public string? Value { get; set; }

    private protected override void WriteFields(ProtoWriter w)
    {
        w.WriteString(1, Key);
        w.WriteString(2, Value);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Key = r.ReadString(); return true;
            case 2: Value = r.ReadString(); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX GraphProto: nodes in topological order, initializers, inputs and outputs.</summary>
public sealed partial class OnnxGraphProto : OnnxMessage
{
    /// <summary>Nodes, topologically sorted (field 1).</summary>
    public List<OnnxNodeProto> Nodes { get; } = [];
    /// <summary>Graph name (field 2).</summary>
    public string? Name { get; set; }
    /// <summary>Constant tensors (field 5).</summary>
    public List<OnnxTensorProto> Initializers { get; } = [];
    /// <summary>Documentation (field 10).</summary>
    public string? DocString { get; set; }
    /// <summary>Graph inputs (field 11). Older models also list their initializers here.</summary>
    public List<OnnxValueInfoProto> Inputs { get; } = [];
    /// <summary>Graph outputs (field 12).</summary>
    public List<OnnxValueInfoProto> Outputs { get; } = [];
    /// <summary>Type/shape information of intermediate values (field 13).</summary>
    public List<OnnxValueInfoProto> ValueInfo { get; } = [];

    /// <summary>Parses a serialized GraphProto.</summary>
    public static OnnxGraphProto Parse(ReadOnlySpan<byte> bytes) => ParseMessage<OnnxGraphProto>(bytes);

    /// <summary>Finds an initializer by name, or null.</summary>
    public OnnxTensorProto? FindInitializer(string name) => Initializers.Find(t => t.Name == name);

    private protected override void WriteFields(ProtoWriter w)
    {
        WriteMessages(w, 1, Nodes);
        w.WriteString(2, Name);
        WriteMessages(w, 5, Initializers);
        w.WriteString(10, DocString);
        WriteMessages(w, 11, Inputs);
        WriteMessages(w, 12, Outputs);
        WriteMessages(w, 13, ValueInfo);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Nodes.Add(ReadMessage<OnnxNodeProto>(ref r, type)); return true;
            case 2: Name = r.ReadString(); return true;
            case 5: Initializers.Add(ReadMessage<OnnxTensorProto>(ref r, type)); return true;
            case 10: DocString = r.ReadString(); return true;
            case 11: Inputs.Add(ReadMessage<OnnxValueInfoProto>(ref r, type)); return true;
            case 12: Outputs.Add(ReadMessage<OnnxValueInfoProto>(ref r, type)); return true;
            case 13: ValueInfo.Add(ReadMessage<OnnxValueInfoProto>(ref r, type)); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX NodeProto: one operator invocation.</summary>
public sealed class OnnxNodeProto : OnnxMessage
{
    /// <summary>Input value names; an empty string marks an omitted optional input (field 1).</summary>
    public List<string> Inputs { get; } = [];
    /// <summary>Output value names (field 2).</summary>
    public List<string> Outputs { get; } = [];
    /// <summary>Node name (field 3).</summary>
    public string? Name { get; set; }
    /// <summary>Operator type, e.g. "Conv" (field 4).</summary>
    public string OpType { get; set; } = "";
    /// <summary>Attributes (field 5).</summary>
    public List<OnnxAttributeProto> Attributes { get; } = [];
    /// <summary>Documentation (field 6).</summary>
    public string? DocString { get; set; }
    /// <summary>Operator domain; empty for the default ONNX domain (field 7).</summary>
    public string? Domain { get; set; }

    /// <summary>Parses a serialized NodeProto.</summary>
    public static OnnxNodeProto Parse(ReadOnlySpan<byte> bytes) => ParseMessage<OnnxNodeProto>(bytes);

    /// <summary>Finds an attribute by name, or null.</summary>
    public OnnxAttributeProto? GetAttribute(string name) => Attributes.Find(a => a.Name == name);

    private protected override void WriteFields(ProtoWriter w)
    {
        foreach (var s in Inputs) w.WriteBytes(1, Encoding.UTF8.GetBytes(s));
        foreach (var s in Outputs) w.WriteBytes(2, Encoding.UTF8.GetBytes(s));
        w.WriteString(3, Name);
        w.WriteString(4, OpType);
        WriteMessages(w, 5, Attributes);
        w.WriteString(6, DocString);
        w.WriteString(7, Domain);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Inputs.Add(r.ReadString()); return true;
            case 2: Outputs.Add(r.ReadString()); return true;
            case 3: Name = r.ReadString(); return true;
            case 4: OpType = r.ReadString(); return true;
            case 5: Attributes.Add(ReadMessage<OnnxAttributeProto>(ref r, type)); return true;
            case 6: DocString = r.ReadString(); return true;
            case 7: Domain = r.ReadString(); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX AttributeProto: a named attribute value of a node.</summary>
public sealed class OnnxAttributeProto : OnnxMessage
{
    /// <summary>Attribute name (field 1).</summary>
    public string Name { get; set; } = "";
    /// <summary>Discriminator of the populated value field (field 20).</summary>
    public OnnxAttributeType Type { get; set; }
    /// <summary>Float value (field 2).</summary>
    public float F { get; set; }
    /// <summary>Int64 value (field 3).</summary>
    public long I { get; set; }
    /// <summary>Byte-string value, normally UTF-8 (field 4).</summary>
    public byte[]? S { get; set; }
    /// <summary>Tensor value (field 5).</summary>
    public OnnxTensorProto? T { get; set; }
    /// <summary>Graph value (field 6).</summary>
    public OnnxGraphProto? G { get; set; }
    /// <summary>Float list (field 7).</summary>
    public List<float> Floats { get; } = [];
    /// <summary>Int64 list (field 8).</summary>
    public List<long> Ints { get; } = [];
    /// <summary>Byte-string list (field 9).</summary>
    public List<byte[]> Strings { get; } = [];
    /// <summary>Tensor list (field 10).</summary>
    public List<OnnxTensorProto> Tensors { get; } = [];
    /// <summary>Graph list (field 11).</summary>
    public List<OnnxGraphProto> Graphs { get; } = [];
    /// <summary>Documentation (field 13).</summary>
    public string? DocString { get; set; }

    /// <summary>Parses a serialized AttributeProto.</summary>
    public static OnnxAttributeProto Parse(ReadOnlySpan<byte> bytes) => ParseMessage<OnnxAttributeProto>(bytes);

    /// <summary>The string value decoded as UTF-8, or null.</summary>
    public string? StringValue => S is null ? null : Encoding.UTF8.GetString(S);

    private protected override void WriteFields(ProtoWriter w)
    {
        var type = Type == OnnxAttributeType.Undefined ? InferType() : Type;
        w.WriteString(1, Name);
        if (type == OnnxAttributeType.Float) w.WriteFloat(2, F);
        if (type == OnnxAttributeType.Int) w.WriteInt64(3, I);
        if (type == OnnxAttributeType.String) w.WriteBytes(4, S ?? []);
        if (type == OnnxAttributeType.Tensor) WriteMessage(w, 5, T);
        if (type == OnnxAttributeType.Graph) WriteMessage(w, 6, G);
        foreach (var f in Floats) w.WriteFloat(7, f);
        foreach (var i in Ints) w.WriteInt64(8, i);
        foreach (var s in Strings) w.WriteBytes(9, s);
        WriteMessages(w, 10, Tensors);
        WriteMessages(w, 11, Graphs);
        w.WriteString(13, DocString);
        if (type != OnnxAttributeType.Undefined) w.WriteInt64(20, (long)type);
    }

    private OnnxAttributeType InferType() =>
        T is not null ? OnnxAttributeType.Tensor
        : G is not null ? OnnxAttributeType.Graph
        : S is not null ? OnnxAttributeType.String
        : Floats.Count > 0 ? OnnxAttributeType.Floats
        : Ints.Count > 0 ? OnnxAttributeType.Ints
        : Strings.Count > 0 ? OnnxAttributeType.Strings
        : Tensors.Count > 0 ? OnnxAttributeType.Tensors
        : Graphs.Count > 0 ? OnnxAttributeType.Graphs
        : _sawF || F != 0 ? OnnxAttributeType.Float
        : _sawI || I != 0 ? OnnxAttributeType.Int
        : OnnxAttributeType.Undefined;

    private bool _sawF;
    private bool _sawI;

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Name = r.ReadString(); return true;
            case 2: F = r.ReadFloat(); _sawF = true; return true;
            case 3: I = r.ReadInt64(); _sawI = true; return true;
            case 4: S = r.ReadBytes().ToArray(); return true;
            case 5: T = ReadMessage<OnnxTensorProto>(ref r, type); return true;
            case 6: G = ReadMessage<OnnxGraphProto>(ref r, type); return true;
            case 7: r.ReadRepeatedFloat(type, Floats); return true;
            case 8: r.ReadRepeatedInt64(type, Ints); return true;
            case 9: Strings.Add(r.ReadBytes().ToArray()); return true;
            case 10: Tensors.Add(ReadMessage<OnnxTensorProto>(ref r, type)); return true;
            case 11: Graphs.Add(ReadMessage<OnnxGraphProto>(ref r, type)); return true;
            case 13: DocString = r.ReadString(); return true;
            case 20: Type = (OnnxAttributeType)r.ReadInt32(); return true;
            default: return false;
        }
    }
}

/// <summary>ONNX ValueInfoProto: name and type of a graph input, output or intermediate value.</summary>
public sealed class OnnxValueInfoProto : OnnxMessage
{
    /// <summary>Value name (field 1).</summary>
    public string Name { get; set; } = "";
    /// <summary>Type (field 2).</summary>
    public OnnxTypeProto? Type { get; set; }
    /// <summary>Documentation (field 3).</summary>
    public string? DocString { get; set; }

    /// <summary>Creates a tensor value info; a dimension of -1 becomes the symbolic dimension <paramref name="dynamicDimName"/>.</summary>
    public static OnnxValueInfoProto CreateTensor(string name, OnnxElementType type, IReadOnlyList<long> shape, string dynamicDimName = "N")
    {
        var tt = new OnnxTypeProto { ElemType = type, Shape = [] };
        foreach (long d in shape)
        {
            tt.Shape.Add(d < 0 ? new OnnxDimension { Param = dynamicDimName } : new OnnxDimension { Value = d });
        }
        return new OnnxValueInfoProto { Name = name, Type = tt };
    }

    private protected override void WriteFields(ProtoWriter w)
    {
        w.WriteString(1, Name);
        WriteMessage(w, 2, Type);
        w.WriteString(3, DocString);
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Name = r.ReadString(); return true;
            case 2: Type = ReadMessage<OnnxTypeProto>(ref r, type); return true;
            case 3: DocString = r.ReadString(); return true;
            default: return false;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Type}";
}

/// <summary>
/// ONNX TypeProto restricted to tensor types (tensor_type = 1, with TypeProto.Tensor elem_type = 1 and
/// shape = 2). Sequence/map types and denotations are preserved as unknown fields.
/// </summary>
public sealed class OnnxTypeProto : OnnxMessage
{
    /// <summary>True when the tensor_type field is present (always true for types created in code).</summary>
    public bool IsTensor { get; set; } = true;
    /// <summary>Tensor element type (TypeProto.Tensor.elem_type).</summary>
    public OnnxElementType ElemType { get; set; }
    /// <summary>Tensor shape (TensorShapeProto.dim); null when the rank is unknown.</summary>
    public List<OnnxDimension>? Shape { get; set; }

    /// <summary>Raw unknown fields of the nested TypeProto.Tensor message.</summary>
    internal byte[]? TensorUnknownFields { get; set; }
    /// <summary>Raw unknown fields of the nested TensorShapeProto message.</summary>
    internal byte[]? ShapeUnknownFields { get; set; }

    private protected override void WriteFields(ProtoWriter w)
    {
        if (!IsTensor) return;
        w.WriteMessage(1, this, static (tw, self) =>
        {
            if (self.ElemType != OnnxElementType.Undefined) tw.WriteInt64(1, (long)self.ElemType);
            if (self.Shape is not null)
            {
                tw.WriteMessage(2, self, static (sw, s) =>
                {
                    WriteMessages(sw, 1, s.Shape!);
                    if (s.ShapeUnknownFields is { } su) sw.WriteRaw(su);
                });
            }
            if (self.TensorUnknownFields is { } tu) tw.WriteRaw(tu);
        });
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        if (field != 1) return false;
        ProtoReader.Expect(type, WireType.LengthDelimited);
        IsTensor = true;
        var tr = new ProtoReader(r.ReadBytes());
        while (true)
        {
            int start = tr.Position;
            if (!tr.TryReadTag(out int f, out var t)) break;
            if (f == 1) { ElemType = (OnnxElementType)tr.ReadInt32(); continue; }
            if (f == 2)
            {
                ProtoReader.Expect(t, WireType.LengthDelimited);
                Shape ??= [];
                var sr = new ProtoReader(tr.ReadBytes());
                while (true)
                {
                    int s0 = sr.Position;
                    if (!sr.TryReadTag(out int sf, out var st)) break;
                    if (sf == 1) { Shape.Add(ReadMessage<OnnxDimension>(ref sr, st)); continue; }
                    sr.Skip(st);
                    ShapeUnknownFields = [.. ShapeUnknownFields ?? [], .. sr.Slice(s0, sr.Position)];
                }
                continue;
            }
            tr.Skip(t);
            TensorUnknownFields = [.. TensorUnknownFields ?? [], .. tr.Slice(start, tr.Position)];
        }
        return true;
    }

    private protected override void BeginParse() => IsTensor = false;

    /// <inheritdoc/>
    public override string ToString() =>
        !IsTensor ? "non-tensor"
        : $"{ElemType}[{(Shape is null ? "?" : string.Join(",", Shape.Select(d => d.ToString())))}]";
}

/// <summary>ONNX TensorShapeProto.Dimension: a fixed size (dim_value = 1) or a symbolic name (dim_param = 2).</summary>
public sealed class OnnxDimension : OnnxMessage
{
    /// <summary>Fixed size, or null when symbolic or unknown.</summary>
    public long? Value { get; set; }
    /// <summary>Symbolic name (e.g. "N"), or null.</summary>
    public string? Param { get; set; }

    private protected override void WriteFields(ProtoWriter w)
    {
        if (Value is long v) w.WriteInt64(1, v);
        else if (Param is not null) w.WriteBytes(2, Encoding.UTF8.GetBytes(Param));
    }

    private protected override bool ReadField(ref ProtoReader r, int field, WireType type)
    {
        switch (field)
        {
            case 1: Value = r.ReadInt64(); Param = null; return true;
            case 2: Param = r.ReadString(); Value = null; return true;
            default: return false;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}
