using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLPipelines.Backbones;
using MLPipelines.Data;
using MLPipelines.Onnx;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>tta-eval --model RUN/model.zip --data DIR/stanford-cars [--image-size 224] [--seed 1]</c>: validation accuracy of an
/// m3-transfer model zip (trained without <c>--tta</c>) as saved and with test-time mirroring added to its ONNX graph
/// afterwards (the same Slice/Concat/ReduceMean rewrite that <c>--tta</c> compiles in), on the experiments' stratified
/// 80/20 split, so one training run tells whether <c>--tta</c> pays.
/// </summary>
internal static class TtaEval
{
    public static int Run(string[] args)
    {
        string zip = Option(args, "--model") ?? throw new ArgumentException("--model RUN/model.zip is required.");
        string data = Option(args, "--data") ?? throw new ArgumentException("--data DIR is required.");
        int size = int.Parse(Option(args, "--image-size") ?? "224", CultureInfo.InvariantCulture);
        int seed = int.Parse(Option(args, "--seed") ?? "1", CultureInfo.InvariantCulture);

        var dataset = StanfordCars.Load(data);
        var validation = DataSplit.Stratified(dataset.Items, i => i.Label, 0.2, 0, seed).Validation;
        var classes = dataset.Classes.ToList();
        var labels = validation.Select(i => classes.IndexOf(i.Label)).ToArray();
        Console.WriteLine($"{validation.Count} validation images, {classes.Count} classes; decoding at {size} px");
        var pixels = ImagePreprocessing.ExtractFeatures(new MLContext(seed), validation.Select(i => i.Path).ToList(),
            new ImagePreprocessingOptions { ImageSize = size, Grayscale = false });

        var plain = OnnxModelProto.Parse(OnnxFeatureCut.ReadOnnxFromModelZip(zip));
        var mirrored = AddMirroring(OnnxModelProto.Parse(plain.ToBytes()), classes.Count);
        foreach (var (name, model) in new[] { ("as saved", plain), ("with test-time mirroring", mirrored) })
        {
            var clock = Stopwatch.StartNew();
            var predicted = Predict(model, pixels, validation.Count, 3 * size * size);
            int correct = predicted.Where((p, i) => p == labels[i]).Count();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: top-1 {100.0 * correct / labels.Length:F2} % ({correct}/{labels.Length}), {labels.Length / clock.Elapsed.TotalSeconds:F1} images/s (inference only)"));
        }
        return 0;
    }

    /// <summary>Feeds the network [x, mirrored x] after the NCHW reshape and averages the two halves of the logits before the Softmax.</summary>
    private static OnnxModelProto AddMirroring(OnnxModelProto model, int classes)
    {
        var g = model.Graph!;
        var reshape = g.Nodes.First(n => n.OpType == "Reshape" && n.Outputs[0].StartsWith("to_nchw", StringComparison.Ordinal));
        var softmax = g.Nodes.Single(n => n.OpType == "Softmax");
        string x = reshape.Outputs[0], logits = softmax.Inputs[0];
        foreach (var node in g.Nodes)
            for (int i = 0; i < node.Inputs.Count; i++)
                if (node.Inputs[i] == x) node.Inputs[i] = "tta_batch";
        g.Initializers.Add(OnnxTensorProto.FromLongs("tta_starts", [-1L], 1));
        g.Initializers.Add(OnnxTensorProto.FromLongs("tta_ends", [long.MinValue], 1));
        g.Initializers.Add(OnnxTensorProto.FromLongs("tta_axes", [3L], 1));
        g.Initializers.Add(OnnxTensorProto.FromLongs("tta_steps", [-1L], 1));
        g.Initializers.Add(OnnxTensorProto.FromLongs("tta_halves_shape", [2L, -1L, classes], 3));
        int at = g.Nodes.IndexOf(reshape) + 1;
        g.Nodes.Insert(at, Node("Slice", [x, "tta_starts", "tta_ends", "tta_axes", "tta_steps"], "tta_mirrored"));
        g.Nodes.Insert(at + 1, Node("Concat", [x, "tta_mirrored"], "tta_batch", Int("axis", 0)));

        var producer = g.Nodes.Single(n => n.Outputs.Contains(logits));
        producer.Outputs[producer.Outputs.IndexOf(logits)] = "tta_logits_2n";
        int after = g.Nodes.IndexOf(producer) + 1;
        g.Nodes.Insert(after, Node("Reshape", ["tta_logits_2n", "tta_halves_shape"], "tta_halves"));
        var axes = new OnnxAttributeProto { Name = "axes", Type = OnnxAttributeType.Ints };
        axes.Ints.Add(0);
        g.Nodes.Insert(after + 1, Node("ReduceMean", ["tta_halves"], logits, axes, Int("keepdims", 0)));
        return model;
    }

    private static OnnxAttributeProto Int(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };

    private static OnnxNodeProto Node(string op, string[] inputs, string output, params OnnxAttributeProto[] attributes)
    {
        var node = new OnnxNodeProto { OpType = op, Name = output + "_node" };
        node.Inputs.AddRange(inputs);
        node.Outputs.Add(output);
        node.Attributes.AddRange(attributes);
        return node;
    }

    private static int[] Predict(OnnxModelProto model, float[] pixels, int n, int dimension)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        using var session = new InferenceSession(model.ToBytes(), options);
        string input = session.InputMetadata.Keys.First();
        var result = new int[n];
        const int batch = 32;
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            var tensor = new DenseTensor<float>(pixels.AsMemory(start * dimension, count * dimension), [count, dimension]);
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], ["probabilities"]);
            var p = outputs.First().AsTensor<float>();
            for (int i = 0; i < count; i++)
            {
                int best = 0;
                for (int k = 1; k < p.Dimensions[1]; k++)
                    if (p[i, k] > p[i, best]) best = k;
                result[start + i] = best;
            }
        }
        return result;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
