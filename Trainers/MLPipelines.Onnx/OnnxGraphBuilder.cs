using System.Text;

namespace MLPipelines.Onnx;

/// <summary>A node attribute for <see cref="OnnxGraphBuilder.AddNode(string, IReadOnlyList{string}, string, OnnxAttribute[])"/>.</summary>
public readonly struct OnnxAttribute
{
    private readonly OnnxAttributeProto? _proto;

    private OnnxAttribute(OnnxAttributeProto proto) => _proto = proto;

    /// <summary>The attribute name.</summary>
    public string Name => _proto?.Name ?? "";

    /// <summary>An int64 attribute.</summary>
    public static OnnxAttribute Int(string name, long v) => new(new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Int, I = v });

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float v) => new(new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Float, F = v });

    /// <summary>An int64 list attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] v)
    {
        var p = new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Ints };
        p.Ints.AddRange(v);
        return new(p);
    }

    /// <summary>A float list attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] v)
    {
        var p = new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Floats };
        p.Floats.AddRange(v);
        return new(p);
    }

    /// <summary>A UTF-8 string attribute.</summary>
    public static OnnxAttribute String(string name, string v) =>
        new(new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.String, S = Encoding.UTF8.GetBytes(v) });

    /// <summary>A string list attribute.</summary>
    public static OnnxAttribute Strings(string name, params string[] v)
    {
        var p = new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Strings };
        p.Strings.AddRange(v.Select(Encoding.UTF8.GetBytes));
        return new(p);
    }

    /// <summary>A tensor attribute (e.g. the value of a Constant node).</summary>
    public static OnnxAttribute Tensor(string name, OnnxTensorProto t) =>
        new(new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Tensor, T = t });

    /// <summary>A graph attribute (e.g. a branch of an If node).</summary>
    public static OnnxAttribute Graph(string name, OnnxGraphProto g) =>
        new(new OnnxAttributeProto { Name = name, Type = OnnxAttributeType.Graph, G = g });

    /// <summary>The attribute as a proto message.</summary>
    public OnnxAttributeProto ToProto() => _proto ?? throw new InvalidOperationException("Default OnnxAttribute has no value.");
}

/// <summary>
/// Builds an ONNX model graph node by node. Names are tracked so that <see cref="UniqueName"/> never clashes;
/// <see cref="Build"/> checks that the graph is topologically ordered (see <see cref="OnnxValidator"/>).
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly OnnxGraphProto _graph;
    private readonly long _opsetVersion;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly HashSet<string> _produced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
    private readonly List<OnnxStringStringEntryProto> _metadata = [];
    private readonly List<OnnxOperatorSetIdProto> _extraOpsets = [];

    /// <summary>Starts an empty graph named <paramref name="graphName"/> importing the default ONNX opset <paramref name="opsetVersion"/>.</summary>
    public OnnxGraphBuilder(string graphName = "main", long opsetVersion = 17)
    {
        _graph = new OnnxGraphProto { Name = graphName };
        _opsetVersion = opsetVersion;
    }

    /// <summary>Producer name written into the model; default "MLPipelines".</summary>
    public string ProducerName { get; set; } = "MLPipelines";

    /// <summary>Producer version written into the model; default the assembly version.</summary>
    public string ProducerVersion { get; set; } = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Model documentation string.</summary>
    public string? DocString { get; set; }

    /// <summary>The graph under construction (live; changes are reflected in later builds).</summary>
    public OnnxGraphProto Graph => _graph;

    /// <summary>Declares a graph input; a dimension of -1 is dynamic and written as dim_param "N". Returns <paramref name="name"/>.</summary>
    public string AddInput(string name, OnnxElementType type, params long[] shape)
    {
        Define(name);
        _graph.Inputs.Add(OnnxValueInfoProto.CreateTensor(name, type, shape ?? []));
        return name;
    }

    /// <summary>Declares a graph output (normally the output of an already added node); -1 dims are dynamic ("N").</summary>
    public void AddOutput(string name, OnnxElementType type, params long[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_graph.Outputs.Any(o => o.Name == name)) throw new ArgumentException($"Output '{name}' is already declared.", nameof(name));
        _used.Add(name);
        _graph.Outputs.Add(OnnxValueInfoProto.CreateTensor(name, type, shape ?? []));
    }

    /// <summary>Adds a float initializer stored as raw_data. Returns <paramref name="name"/>.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> data, params long[] shape) =>
        AddInitializer(OnnxTensorProto.FromFloats(name, data, shape ?? []));

    /// <summary>Adds an int64 initializer stored as raw_data. Returns <paramref name="name"/>.</summary>
    public string AddInitializer(string name, ReadOnlySpan<long> data, params long[] shape) =>
        AddInitializer(OnnxTensorProto.FromLongs(name, data, shape ?? []));

    /// <summary>Adds a string initializer. Returns <paramref name="name"/>.</summary>
    public string AddInitializer(string name, IReadOnlyList<string> data, params long[] shape) =>
        AddInitializer(OnnxTensorProto.FromStrings(name, data, shape ?? []));

    /// <summary>Adds a prepared tensor as an initializer. Returns its name.</summary>
    public string AddInitializer(OnnxTensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Define(tensor.Name);
        _graph.Initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds a single-output node of the default domain. Returns <paramref name="output"/>.</summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, string output, params OnnxAttribute[] attributes)
    {
        AddNode(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node of the default domain with several outputs. Returns <paramref name="outputs"/>.</summary>
    public IReadOnlyList<string> AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes) =>
        AddNodeInDomain(null, opType, inputs, outputs, attributes);

    /// <summary>Adds a node of operator domain <paramref name="domain"/> (e.g. "ai.onnx.ml"; import it with <see cref="AddOpsetImport"/>).</summary>
    public IReadOnlyList<string> AddNodeInDomain(string? domain, string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count == 0) throw new ArgumentException("A node needs at least one output.", nameof(outputs));
        foreach (var o in outputs)
        {
            if (string.IsNullOrEmpty(o)) continue; // omitted optional output
            if (_produced.Contains(o)) throw new ArgumentException($"Value '{o}' is already produced by a graph input, initializer or node.", nameof(outputs));
        }
        var node = new OnnxNodeProto { OpType = opType, Domain = domain, Name = NextNodeName(opType) };
        node.Inputs.AddRange(inputs);
        foreach (var o in outputs)
        {
            node.Outputs.Add(o ?? "");
            if (!string.IsNullOrEmpty(o)) { _produced.Add(o); _used.Add(o); }
        }
        foreach (var a in attributes ?? []) node.Attributes.Add(a.ToProto());
        _graph.Nodes.Add(node);
        return outputs;
    }

    /// <summary>Imports an additional operator set, e.g. ("ai.onnx.ml", 3).</summary>
    public void AddOpsetImport(string domain, long version) =>
        _extraOpsets.Add(new OnnxOperatorSetIdProto { Domain = domain, Version = version });

    /// <summary>Returns "prefix_0", "prefix_1", ... skipping any name already used in the graph, and reserves it.</summary>
    public string UniqueName(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        _counters.TryGetValue(prefix, out int i);
        string name;
        do name = $"{prefix}_{i++}";
        while (_used.Contains(name));
        _counters[prefix] = i;
        _used.Add(name);
        return name;
    }

    /// <summary>Adds a metadata_props entry (replacing an existing entry with the same key).</summary>
    public void AddMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        _metadata.RemoveAll(e => e.Key == key);
        _metadata.Add(new OnnxStringStringEntryProto { Key = key, Value = value });
    }

    /// <summary>
    /// Builds the model: IR version 8 for opsets up to 18 (newer opsets get the IR version ONNX pairs them with:
    /// 9 for 19-20, 10 for 21-22, 11 beyond). Throws <see cref="InvalidOperationException"/> when the graph is invalid.
    /// </summary>
    public OnnxModelProto Build()
    {
        if (_graph.Outputs.Count == 0) throw new InvalidOperationException($"Graph '{_graph.Name}' has no outputs.");
        OnnxValidator.Validate(_graph);
        // Shallow copy of the graph lists so that later builder calls do not change an already built model.
        var g = new OnnxGraphProto { Name = _graph.Name, DocString = _graph.DocString };
        g.Nodes.AddRange(_graph.Nodes);
        g.Initializers.AddRange(_graph.Initializers);
        g.Inputs.AddRange(_graph.Inputs);
        g.Outputs.AddRange(_graph.Outputs);
        g.ValueInfo.AddRange(_graph.ValueInfo);
        var model = new OnnxModelProto
        {
            IrVersion = _opsetVersion switch { <= 18 => 8, <= 20 => 9, <= 22 => 10, _ => 11 },
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            DocString = DocString,
            Graph = g,
        };
        model.OpsetImport.Add(new OnnxOperatorSetIdProto { Domain = "", Version = _opsetVersion });
        model.OpsetImport.AddRange(_extraOpsets);
        model.MetadataProps.AddRange(_metadata);
        return model;
    }

    /// <summary>Builds the model and serializes it to ONNX protobuf bytes.</summary>
    public byte[] ToBytes() => Build().ToBytes();

    private void Define(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_produced.Add(name)) throw new ArgumentException($"Value '{name}' is already defined in graph '{_graph.Name}'.", nameof(name));
        _used.Add(name);
    }

    private string NextNodeName(string opType)
    {
        string key = "\0node:" + opType;
        _counters.TryGetValue(key, out int i);
        _counters[key] = i + 1;
        return $"{opType}_{i}";
    }
}
