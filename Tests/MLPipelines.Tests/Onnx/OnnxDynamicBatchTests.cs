using MLPipelines.Onnx;
using MLPipelines.Testing;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using static MLPipelines.Tests.Onnx.OrtRunner;

namespace MLPipelines.Tests.Onnx;

/// <summary>Rewriting a fixed batch dimension [1,...] to a dynamic one, on built and on real models.</summary>
public sealed class OnnxDynamicBatchTests(ITestOutputHelper output)
{
    private const string MobileNetFile = "mobilenetv2-12-int8.onnx";

    [Fact]
    public void FixedBatchGraph_RewrittenToDynamic_RunsWithBatch3()
    {
        var rng = new Random(21);
        float[] w = RandomFloats(rng, 4 * 3), b = RandomFloats(rng, 3);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, 1, 4);
        g.AddInitializer("W", w, 4, 3);
        g.AddInitializer("B", b, 3);
        g.AddInitializer("shape3", [1L, 3, 1], 3);
        g.AddInitializer("shape2", [1L, -1], 2);
        var mm = g.AddNode("MatMul", ["X", "W"], "mm");
        var r3 = g.AddNode("Reshape", [mm, "shape3"], "r3");
        var r2 = g.AddNode("Reshape", [r3, "shape2"], "r2");
        g.AddNode("Add", [r2, "B"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, 1, 3);
        g.Graph.ValueInfo.Add(OnnxValueInfoProto.CreateTensor("r3", OnnxElementType.Float, [1, 3, 1]));
        var model = g.Build();
        float[] x = RandomFloats(rng, 3 * 4);

        Assert.ThrowsAny<OnnxRuntimeException>(() => Run(model.ToBytes(), ("X", x, [3, 4])));

        var dynamic = model.WithDynamicBatch();
        var notes = dynamic.MakeBatchDynamic(); // idempotent: nothing fixed is left
        Assert.Empty(notes);
        var y = Run(dynamic.ToBytes(), ("X", x, [3, 4]))["Y"];

        Assert.Equal("Float[N,4]", dynamic.Graph!.Inputs[0].Type!.ToString());
        Assert.Equal("Float[N,3]", dynamic.Graph.Outputs[0].Type!.ToString());
        Assert.Null(dynamic.Graph.ValueInfo[0].Type!.Shape);
        Assert.Equal([-1L, 3, 1], dynamic.Graph.FindInitializer("shape3")!.GetLongs());
        Assert.Equal([0L, -1], dynamic.Graph.FindInitializer("shape2")!.GetLongs());
        Assert.Equal([1L, 3, 1], model.Graph!.FindInitializer("shape3")!.GetLongs()); // the original is untouched
        Assert.Equal([3L, 3], y.Shape);
        var expected = new double[9];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double s = b[j];
                for (int t = 0; t < 4; t++) s += (double)x[i * 4 + t] * w[t * 3 + j];
                expected[i * 3 + j] = s;
            }
        }
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void SharedReshapeShape_IsCopiedNotChangedForOtherUsers()
    {
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, 1, 6);
        g.AddInitializer("shape", [1L, 2, 3], 3);
        g.AddNode("Reshape", ["X", "shape"], "R");
        g.AddNode("Cast", ["shape"], "S", OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        g.AddOutput("R", OnnxElementType.Float, 1, 2, 3);
        g.AddOutput("S", OnnxElementType.Float, 3);
        var model = g.Build().WithDynamicBatch();

        var r = Run(model.ToBytes(), ("X", new float[12], [2, 6]));

        Assert.Equal([2L, 2, 3], r["R"].Shape);
        Assert.Equal([1f, 2f, 3f], r["S"].Floats!);
        Assert.Equal("shape_dynbatch", model.Graph!.Nodes[0].Inputs[1]);
    }

    /// <summary>
    /// Mimics a CNTK export (like ResNet18.onnx): IR version 3, opset 8, initializers also listed as graph inputs and
    /// stored as float_data, Conv + BatchNormalization, fixed batch 1 and a Reshape to [1, C].
    /// </summary>
    [Fact]
    public void CntkStyleModel_WithFloatDataInitializersAsInputs_RunsWithBatch2AfterRewrite()
    {
        var rng = new Random(22);
        int c = 2, m = 4;
        var graph = new OnnxGraphProto { Name = "cntk" };
        graph.Inputs.Add(OnnxValueInfoProto.CreateTensor("Input3", OnnxElementType.Float, [1, c, 5, 5]));
        OnnxTensorProto FloatData(string name, float[] data, params long[] dims)
        {
            var t = new OnnxTensorProto { Name = name, DataType = OnnxElementType.Float };
            t.Dims.AddRange(dims);
            t.FloatData.AddRange(data);
            graph.Initializers.Add(t);
            graph.Inputs.Add(OnnxValueInfoProto.CreateTensor(name, OnnxElementType.Float, dims));
            return t;
        }
        float[] w = RandomFloats(rng, m * c * 9), scale = RandomFloats(rng, m), bias = RandomFloats(rng, m), mean = RandomFloats(rng, m);
        float[] variance = RandomFloats(rng, m).Select(v => Math.Abs(v) + 0.5f).ToArray();
        FloatData("Parameter5", w, m, c, 3, 3);
        FloatData("Parameter6", scale, m);
        FloatData("Parameter7", bias, m);
        FloatData("Parameter8", mean, m);
        FloatData("Parameter9", variance, m);
        var shape = new OnnxTensorProto { Name = "ReshapeShape", DataType = OnnxElementType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.AddRange([1L, m]);
        graph.Initializers.Add(shape);
        graph.Inputs.Add(OnnxValueInfoProto.CreateTensor("ReshapeShape", OnnxElementType.Int64, [2]));
        void Node(string op, string[] ins, string outName, params OnnxAttribute[] attrs)
        {
            var n = new OnnxNodeProto { OpType = op, Name = outName + "_node" };
            n.Inputs.AddRange(ins);
            n.Outputs.Add(outName);
            n.Attributes.AddRange(attrs.Select(a => a.ToProto()));
            graph.Nodes.Add(n);
        }
        Node("Conv", ["Input3", "Parameter5"], "conv", OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        Node("BatchNormalization", ["conv", "Parameter6", "Parameter7", "Parameter8", "Parameter9"], "bn", OnnxAttribute.Float("epsilon", 1e-5f));
        Node("Relu", ["bn"], "relu");
        Node("GlobalAveragePool", ["relu"], "pool");
        Node("Reshape", ["pool", "ReshapeShape"], "Output");
        graph.Outputs.Add(OnnxValueInfoProto.CreateTensor("Output", OnnxElementType.Float, [1, m]));
        graph.ValueInfo.Add(OnnxValueInfoProto.CreateTensor("pool", OnnxElementType.Float, [1, m, 1, 1]));
        var model = new OnnxModelProto { IrVersion = 3, ProducerName = "CNTK", ProducerVersion = "2.6", Graph = graph };
        model.OpsetImport.Add(new OnnxOperatorSetIdProto { Version = 8 });
        OnnxValidator.Validate(model);

        var parsed = OnnxModelIO.Parse(model.ToBytes());
        Assert.Equal(w, parsed.Graph!.FindInitializer("Parameter5")!.GetFloats()); // float_data read back
        var dynamic = parsed.WithDynamicBatch();
        Assert.Equal("Float[N,2,5,5]", dynamic.Graph!.Inputs[0].Type!.ToString());
        Assert.Equal([-1L, m], dynamic.Graph.FindInitializer("ReshapeShape")!.GetLongs());
        Assert.Equal("Float[4,2,3,3]", dynamic.Graph.Inputs.Single(i => i.Name == "Parameter5").Type!.ToString()); // initializer inputs untouched

        float[] x = RandomFloats(rng, 2 * c * 25);
        var single0 = Run(model.ToBytes(), ("Input3", x[..(c * 25)], [1, c, 5, 5]))["Output"];
        var single1 = Run(model.ToBytes(), ("Input3", x[(c * 25)..], [1, c, 5, 5]))["Output"];
        var batch = Run(dynamic.ToBytes(), ("Input3", x, [2, c, 5, 5]))["Output"];

        Assert.Equal([2L, m], batch.Shape);
        AssertClose([.. single0.Floats!.Concat(single1.Floats!).Select(v => (double)v)], batch.Floats);
    }

    [SkippableFact]
    public void MobileNetV2Int8_ParsesReserializesAndRunsWithBatch2()
    {
        string path = TestData.RequireModel(MobileNetFile);
        byte[] original = File.ReadAllBytes(path);
        var model = OnnxModelIO.Parse(original);
        var graph = model.Graph!;
        output.WriteLine($"{path}: ir {model.IrVersion}, opset {model.DefaultOpsetVersion}, producer '{model.ProducerName}', " +
                         $"{graph.Nodes.Count} nodes, {graph.Initializers.Count} initializers, {graph.ValueInfo.Count} value_info; " +
                         $"inputs {string.Join("; ", graph.Inputs.Take(3))}; outputs {string.Join("; ", graph.Outputs)}; " +
                         $"ops {string.Join(",", graph.Nodes.Select(n => n.OpType).Distinct())}");
        Assert.NotEmpty(graph.Nodes);
        Assert.Empty(OnnxValidator.FindErrors(graph));
        byte[] reserialized = model.ToBytes();
        output.WriteLine($"re-serialized {reserialized.Length} bytes vs {original.Length} original; identical: {reserialized.AsSpan().SequenceEqual(original)}");
        Assert.Equal(reserialized, OnnxModelIO.Parse(reserialized).ToBytes());

        Assert.Equal(original, reserialized);

        // Pin the batch to 1 (as a fixed-batch export would have it), check ORT then refuses batch 2, and rewrite.
        var fixedModel = model.Clone();
        foreach (var vi in fixedModel.Graph!.Inputs.Concat(fixedModel.Graph.Outputs)) vi.Type!.Shape![0] = new OnnxDimension { Value = 1 };
        var input = fixedModel.Graph.Inputs[0];
        long[] dims = input.Type!.Shape!.Skip(1).Select(d => d.Value ?? 224).ToArray();
        int per = (int)dims.Aggregate(1L, (a, d) => a * d);
        var rng = new Random(23);
        float[] x = RandomFloats(rng, 2 * per);
        Assert.ThrowsAny<OnnxRuntimeException>(() => Run(fixedModel.ToBytes(), (input.Name, x, [2, .. dims])));
        var dynamic = fixedModel.WithDynamicBatch();
        Assert.Equal("N", dynamic.Graph!.Inputs[0].Type!.Shape![0].Param);
        Assert.Equal("N", dynamic.Graph.Outputs[0].Type!.Shape![0].Param);

        var batch = Run(dynamic.ToBytes(), (input.Name, x, [2, .. dims])).Values.First();
        var one = Run(fixedModel.ToBytes(), (input.Name, x[..per], [1, .. dims])).Values.First();

        Assert.Equal(2, batch.Shape[0]);
        Assert.Equal(one.Shape.Skip(1), batch.Shape.Skip(1));
        // Quantized kernels may differ by a rounding step between batch sizes; compare sample 0 loosely.
        int outPer = one.Floats!.Length;
        double maxDiff = one.Floats.Zip(batch.Floats!.Take(outPer)).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"max |batch2[0] - batch1| = {maxDiff}");
        Assert.True(maxDiff < 1e-3, $"sample 0 differs between batch 1 and batch 2 by {maxDiff}");
        Assert.NotEqual(batch.Floats!.Take(outPer), batch.Floats!.Skip(outPer));
    }
}
