using System.Text;
using MLPipelines.Onnx;
using MLPipelines.Onnx.Protobuf;
using Microsoft.ML.OnnxRuntime;
using static MLPipelines.Tests.Onnx.OrtRunner;

namespace MLPipelines.Tests.Onnx;

/// <summary>Wire format, object model round trips, validator, builder naming and atomic saving.</summary>
public sealed class OnnxProtoTests
{
    [Fact]
    public void Varints_EncodeAsProtobufDoes()
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, 300);
        w.WriteInt64(2, -1);
        w.WriteFloat(3, 1.5f);
        Assert.Equal(
            new byte[] { 0x08, 0xAC, 0x02, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x1D, 0x00, 0x00, 0xC0, 0x3F },
            w.ToArray());

        var r = new ProtoReader(w.ToArray());
        Assert.True(r.TryReadTag(out int f, out var t));
        Assert.Equal((1, WireType.Varint), (f, t));
        Assert.Equal(300, r.ReadInt64());
        Assert.True(r.TryReadTag(out f, out _));
        Assert.Equal(2, f);
        Assert.Equal(-1, r.ReadInt64());
        Assert.True(r.TryReadTag(out f, out t));
        Assert.Equal((3, WireType.Fixed32), (f, t));
        Assert.Equal(1.5f, r.ReadFloat());
        Assert.False(r.TryReadTag(out _, out _));
    }

    [Fact]
    public void NestedMessages_GetCorrectLengthPrefixes()
    {
        // An opset import {domain "", version 17} is just field 2 = 17; nested in ModelProto field 8.
        Assert.Equal(new byte[] { 0x10, 0x11 }, new OnnxOperatorSetIdProto { Version = 17 }.ToBytes());
        var model = new OnnxModelProto { IrVersion = 8 };
        model.OpsetImport.Add(new OnnxOperatorSetIdProto { Version = 17 });
        Assert.Equal(new byte[] { 0x08, 0x08, 0x42, 0x02, 0x10, 0x11 }, model.ToBytes());

        // A body longer than 127 bytes needs a two-byte length prefix.
        var doc = new string('x', 200);
        var bytes = new OnnxModelProto { IrVersion = 1, Graph = new OnnxGraphProto { DocString = doc } }.ToBytes();
        Assert.Equal(new byte[] { 0x08, 0x01, 0x3A, 0xCB, 0x01, 0x52, 0xC8, 0x01 }, bytes[..8]);
        Assert.Equal(doc, OnnxModelProto.Parse(bytes).Graph!.DocString);
    }

    [Fact]
    public void TensorParse_AcceptsPackedAndUnpackedFields_AndKeepsUnknownFields()
    {
        var w = new ProtoWriter();
        w.WritePackedVarints(1, [2L, 2]);             // dims packed (writers may pack even though proto2 does not)
        w.WriteInt64(2, (long)OnnxElementType.Float);
        w.WriteFloat(4, 1f);                           // float_data unpacked ...
        w.WritePackedFloats(4, [2f, 3f]);              // ... and packed, merged
        w.WriteFloat(4, 4f);
        w.WriteString(8, "t");
        w.WriteInt64(14, 0);                           // data_location: not modelled, must survive
        w.WriteBytes(99, [1, 2, 3]);                   // unknown length-delimited field
        byte[] original = w.ToArray();

        var t = OnnxTensorProto.Parse(original);

        Assert.Equal([2L, 2], t.Dims);
        Assert.Equal([1f, 2f, 3f, 4f], t.GetFloats());
        Assert.Equal("t", t.Name);
        var again = OnnxTensorProto.Parse(t.ToBytes());
        Assert.Equal([1f, 2f, 3f, 4f], again.GetFloats());
        Assert.Equal(t.ToBytes(), again.ToBytes());
        byte[] tail = [0x70, 0x00, 0x9A, 0x06, 0x03, 1, 2, 3];
        Assert.Equal(tail, t.ToBytes()[^tail.Length..]);
    }

    [Fact]
    public void TensorAccessors_ReadRawDataAndTypedFieldsAlike()
    {
        float[] values = [1.5f, -2f, 3.25f, 0f, float.MaxValue, -1e-20f];
        var raw = OnnxTensorProto.FromFloats("w", values, 2, 3);
        Assert.NotNull(raw.RawData);
        Assert.Empty(raw.FloatData);
        var typed = new OnnxTensorProto { Name = "w", DataType = OnnxElementType.Float };
        typed.Dims.AddRange([2, 3]);
        typed.FloatData.AddRange(values);
        Assert.Equal(values, raw.GetFloats());
        Assert.Equal(values, typed.GetFloats());
        Assert.Equal(values, OnnxTensorProto.Parse(typed.ToBytes()).GetFloats());
        Assert.Equal(6, raw.ElementCount);

        var longs = new OnnxTensorProto { DataType = OnnxElementType.Int64 };
        longs.Int64Data.AddRange([-5L, long.MaxValue]);
        Assert.Equal([-5L, long.MaxValue], OnnxTensorProto.Parse(longs.ToBytes()).GetLongs());
        Assert.Equal([-5L, long.MaxValue], OnnxTensorProto.FromLongs("l", [-5L, long.MaxValue], 2).GetLongs());

        var ints = new OnnxTensorProto { DataType = OnnxElementType.Int32 };
        ints.Int32Data.AddRange([-7, 8]);
        Assert.Equal([-7, 8], OnnxTensorProto.Parse(ints.ToBytes()).GetInts());
        var bytes = new OnnxTensorProto { DataType = OnnxElementType.Int8, RawData = [0xFF, 0x05] };
        Assert.Equal([-1L, 5], bytes.GetLongs());

        Assert.Equal([1.0, -2.5], OnnxTensorProto.Parse(OnnxTensorProto.FromDoubles("d", [1.0, -2.5], 2).ToBytes()).GetDoubles());
        Assert.Equal(["a", "ü"], OnnxTensorProto.Parse(OnnxTensorProto.FromStrings("s", ["a", "ü"], 2).ToBytes()).GetStrings());
        Assert.Throws<InvalidOperationException>(() => longs.GetFloats());
        Assert.Throws<ArgumentException>(() => OnnxTensorProto.FromFloats("bad", [1f, 2f], 3));
    }

    [Fact]
    public void Model_RoundTripsThroughBytes()
    {
        var g = new OnnxGraphBuilder("roundtrip", 13) { ProducerName = "tests", DocString = "doc" };
        g.AddInput("X", OnnxElementType.Float, -1, 3);
        g.AddInitializer("W", [1f, 2f, 3f], 3);
        g.AddInitializer("shape", [-1L, 3], 2);
        g.AddInitializer("names", ["a", "b"], 2);
        var y = g.AddNode("Mul", ["X", "W"], g.UniqueName("mul"),
            OnnxAttribute.Int("i", -3), OnnxAttribute.Float("f", 0.25f), OnnxAttribute.Ints("is", 1, -2, 3),
            OnnxAttribute.Floats("fs", 0.5f, -1f), OnnxAttribute.String("s", "héllo"), OnnxAttribute.Strings("ss", "p", "q"),
            OnnxAttribute.Tensor("t", OnnxTensorProto.FromLongs("c", [4L], 1)));
        g.AddNode("Reshape", [y, "shape"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, 3);
        g.AddMetadata("labels", "a,b");
        g.AddMetadata("labels", "a,b,c");
        g.AddMetadata("k", "v");
        var model = g.Build();

        byte[] bytes = model.ToBytes();
        var parsed = OnnxModelIO.Parse(bytes);

        Assert.Equal(bytes, parsed.ToBytes());
        Assert.Equal(8, parsed.IrVersion);
        Assert.Equal(13, parsed.DefaultOpsetVersion);
        Assert.Equal("tests", parsed.ProducerName);
        Assert.Equal("doc", parsed.DocString);
        Assert.Equal([("labels", "a,b,c"), ("k", "v")], parsed.MetadataProps.Select(e => (e.Key, e.Value)));
        var graph = parsed.Graph!;
        Assert.Equal("roundtrip", graph.Name);
        Assert.Equal(["X"], graph.Inputs.Select(i => i.Name));
        Assert.Equal("Float[N,3]", graph.Inputs[0].Type!.ToString());
        Assert.Equal([1f, 2f, 3f], graph.FindInitializer("W")!.GetFloats());
        Assert.Equal(["a", "b"], graph.FindInitializer("names")!.GetStrings());
        var mul = graph.Nodes[0];
        Assert.Equal(("Mul", "Mul_0"), (mul.OpType, mul.Name));
        Assert.Equal(["X", "W"], mul.Inputs);
        Assert.Equal(["mul_0"], mul.Outputs);
        Assert.Equal(-3, mul.GetAttribute("i")!.I);
        Assert.Equal(OnnxAttributeType.Float, mul.GetAttribute("f")!.Type);
        Assert.Equal(0.25f, mul.GetAttribute("f")!.F);
        Assert.Equal([1L, -2, 3], mul.GetAttribute("is")!.Ints);
        Assert.Equal([0.5f, -1f], mul.GetAttribute("fs")!.Floats);
        Assert.Equal("héllo", mul.GetAttribute("s")!.StringValue);
        Assert.Equal(["p", "q"], mul.GetAttribute("ss")!.Strings.Select(Encoding.UTF8.GetString));
        Assert.Equal([4L], mul.GetAttribute("t")!.T!.GetLongs());
    }

    [Fact]
    public void Validator_NamesTheNodeWithAnUndefinedInput()
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, 2);
        g.AddNode("Relu", ["later"], "early");     // uses a value produced only by the next node
        g.AddNode("Neg", ["X"], "later");
        g.AddNode("Add", ["early", "missing"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, 2);

        var ex = Assert.Throws<InvalidOperationException>(() => g.Build());

        Assert.Contains("'Relu_0' (Relu): input 'later'", ex.Message);
        Assert.Contains("'Add_0' (Add): input 'missing'", ex.Message);
        Assert.DoesNotContain("Neg_0", ex.Message);
        Assert.Equal(2, OnnxValidator.FindErrors(g.Graph).Count);
    }

    [Fact]
    public void Validator_AcceptsValidGraphs_AndRejectsUnproducedOutputs()
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, 2);
        g.AddNode("Relu", ["X"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, 2);
        Assert.Empty(OnnxValidator.FindErrors(g.Build().Graph!));
        g.AddOutput("Z", OnnxElementType.Float, 2);
        var ex = Assert.Throws<InvalidOperationException>(() => g.Build());
        Assert.Contains("graph output 'Z'", ex.Message);
    }

    [Theory]
    [InlineData(13, 8)]
    [InlineData(17, 8)]
    [InlineData(21, 10)]
    public void Builder_PairsIrVersionWithOpset_AndOrtLoadsIt(long opset, long ir)
    {
        var g = new OnnxGraphBuilder("g", opset);
        g.AddInput("X", OnnxElementType.Float, -1, 2);
        g.AddNode("Relu", ["X"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, 2);
        var model = g.Build();
        Assert.Equal(ir, model.IrVersion);
        Assert.Equal(opset, model.DefaultOpsetVersion);
        Assert.Equal([0f, 2f], Run(model.ToBytes(), ("X", new[] { -1f, 2f }, [1L, 2]))["Y"].Floats!);
    }

    [Fact]
    public void UntypedAttribute_InfersItsTypeWhenWritten()
    {
        var a = OnnxAttributeProto.Parse(new OnnxAttributeProto { Name = "alpha", F = 0.5f }.ToBytes());
        Assert.Equal((OnnxAttributeType.Float, 0.5f), (a.Type, a.F));
    }

    [Fact]
    public void UniqueName_NeverClashesWithUsedNames()
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("h_0", OnnxElementType.Float, 1);
        g.AddInitializer("h_2", [1f], 1);
        Assert.Equal("h_1", g.UniqueName("h"));
        Assert.Equal("h_3", g.UniqueName("h"));
        Assert.Equal("z_0", g.UniqueName("z"));
        g.AddNode("Identity", ["h_0"], "h_4");
        Assert.Equal("h_5", g.UniqueName("h"));
        Assert.Throws<ArgumentException>(() => g.AddInput("h_0", OnnxElementType.Float, 1));
        Assert.Throws<ArgumentException>(() => g.AddNode("Identity", ["h_0"], "h_4"));
    }

    [Fact]
    public void SaveAtomic_WritesLoadableFileAndLeavesNoTemporaries()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlpipelines-onnx-" + Guid.NewGuid().ToString("N"));
        try
        {
            var g = new OnnxGraphBuilder();
            g.AddInput("X", OnnxElementType.Float, -1, 2);
            g.AddNode("Relu", ["X"], "Y");
            g.AddOutput("Y", OnnxElementType.Float, -1, 2);
            var model = g.Build();
            string path = Path.Combine(dir, "sub", "m.onnx");
            File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(dir, "sub")).FullName, "m.onnx"), "old");

            OnnxModelIO.SaveAtomic(model, path);

            Assert.Equal(model.ToBytes(), File.ReadAllBytes(path));
            Assert.Equal(model.ToBytes(), OnnxModelIO.Load(path).ToBytes());
            Assert.Equal(["m.onnx"], Directory.GetFiles(Path.Combine(dir, "sub")).Select(Path.GetFileName));
            using var session = new InferenceSession(path);
            Assert.Equal(["Y"], session.OutputNames);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
