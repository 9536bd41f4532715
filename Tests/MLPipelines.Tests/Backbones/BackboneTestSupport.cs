using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Data;
using MLPipelines.Onnx;
using MLPipelines.Testing;
using MLPipelines.Tests.Onnx;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Backbones;

/// <summary>Tiny random-weight backbones built in code, real files from the shared folder, and comparison helpers.</summary>
internal static class BackboneTestSupport
{
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// Writes a torchvision-like tiny model: input "input" [N,3,S,S] (or [N,S,S,3] when <paramref name="nhwc"/>),
    /// Conv(3→C, 4×4, stride 16) → Relu → GlobalAveragePool → Flatten, output "output" [N,C]; with
    /// <paramref name="withClassifier"/> the flattened tensor is "pooled" and a Gemm classifier gives "output" [N,10].
    /// </summary>
    public static string WriteTinyModel(string folder, string fileName, int channels, bool withClassifier = false, bool nhwc = false, int size = 224, int seed = 1)
    {
        var rng = new Random(seed);
        var b = new OnnxGraphBuilder("tiny", 13);
        string x = nhwc ? b.AddInput("input", OnnxElementType.Float, -1, size, size, 3) : b.AddInput("input", OnnxElementType.Float, -1, 3, size, size);
        if (nhwc) x = b.AddNode("Transpose", [x], "to_nchw", OnnxAttribute.Ints("perm", 0, 3, 1, 2));
        b.AddInitializer("conv_w", OrtRunner.RandomFloats(rng, channels * 3 * 16, 0.3f), channels, 3, 4, 4);
        b.AddInitializer("conv_b", OrtRunner.RandomFloats(rng, channels, 0.1f), channels);
        b.AddNode("Conv", [x, "conv_w", "conv_b"], "conv", OnnxAttribute.Ints("kernel_shape", 4, 4), OnnxAttribute.Ints("strides", 16, 16));
        b.AddNode("Relu", ["conv"], "relu");
        b.AddNode("GlobalAveragePool", ["relu"], "gap");
        string pooled = withClassifier ? "pooled" : "output";
        b.AddNode("Flatten", ["gap"], pooled, OnnxAttribute.Int("axis", 1));
        if (withClassifier)
        {
            b.AddInitializer("fc_w", OrtRunner.RandomFloats(rng, 10 * channels, 0.1f), 10, channels);
            b.AddInitializer("fc_b", OrtRunner.RandomFloats(rng, 10, 0.1f), 10);
            b.AddNode("Gemm", ["pooled", "fc_w", "fc_b"], "output", OnnxAttribute.Int("transB", 1));
            b.AddOutput("output", OnnxElementType.Float, -1, 10);
        }
        else
        {
            b.AddOutput("output", OnnxElementType.Float, -1, channels);
        }
        string path = Path.Combine(folder, fileName);
        OnnxModelIO.SaveAtomic(b.Build(), path);
        return path;
    }

    /// <summary>Random 0-255 integer pixel values, [count, 3, S, S] channels first.</summary>
    public static float[] RandomPixels(int count, int size, int seed)
    {
        var rng = new Random(seed);
        var p = new float[count * 3 * size * size];
        for (int i = 0; i < p.Length; i++) p[i] = rng.Next(256);
        return p;
    }

    /// <summary>torchvision normalisation of [count,3,S,S] 0-255 pixels, optionally transposed to [count,S,S,3].</summary>
    public static float[] TorchvisionNormalise(float[] pixels, int count, int size, bool nhwc = false)
    {
        int hw = size * size;
        var r = new float[pixels.Length];
        for (int n = 0; n < count; n++)
        for (int c = 0; c < 3; c++)
        for (int i = 0; i < hw; i++)
        {
            float v = (pixels[(n * 3 + c) * hw + i] / 255f - ImageNetMean[c]) / ImageNetStd[c];
            if (nhwc) r[(n * hw + i) * 3 + c] = v;
            else r[(n * 3 + c) * hw + i] = v;
        }
        return r;
    }

    /// <summary>Asserts max |a − e| ≤ rel × max(1, max |e|) and returns the max difference.</summary>
    public static double AssertClose(float[] expected, float[] actual, double rel, ITestOutputHelper? output = null, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxAbs = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"{what}: element {i} is {actual[i]}");
            double d = Math.Abs(expected[i] - actual[i]);
            if (d > maxDiff) { maxDiff = d; at = i; }
            maxAbs = Math.Max(maxAbs, Math.Abs(expected[i]));
        }
        output?.WriteLine($"{what}: max |diff| {maxDiff:E2} (max |value| {maxAbs:G4}) over {expected.Length} values");
        Assert.True(maxDiff <= rel * Math.Max(1, maxAbs), $"{what}: max |diff| {maxDiff:E3} at {at} (expected {expected[at]}, got {actual[at]}), max |value| {maxAbs:G4}, allowed relative {rel:E0}");
        return maxDiff;
    }

    /// <summary>A few real sign-language images (one per digit folder, first files); skips the calling test when the dataset is absent.</summary>
    public static IReadOnlyList<string> RequireSignImages(int count)
    {
        string root = TestData.RequireDataset(SignLanguageDigits.FolderName);
        return Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => Directory.GetFiles(d).OrderBy(f => f, StringComparer.Ordinal).First())
            .Take(count).ToList();
    }

    /// <summary>The shared int8 MobileNetV2 (see <see cref="TestData.FindModel"/>); skips the calling test when it is absent.</summary>
    public static string RequireMobileNetV2() => TestData.RequireModel("mobilenetv2-12-int8.onnx");

    /// <summary>Runs a fitted chain and reads a vector column as one flat array.</summary>
    public static float[] ReadVectors(IDataView data, string column, int expectedLength)
    {
        var result = new List<float>();
        foreach (var v in data.GetColumn<VBuffer<float>>(data.Schema[column]))
        {
            Assert.Equal(expectedLength, v.Length);
            result.AddRange(v.DenseValues());
        }
        return [.. result];
    }

    /// <summary>Data view of image paths in a column "ImagePath".</summary>
    public static IDataView PathsView(MLContext ml, IEnumerable<string> paths) =>
        ml.Data.LoadFromEnumerable(paths.Select(p => new ImageInput { ImagePath = p }).ToList());
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class BackboneTempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlp-backbones-" + Guid.NewGuid().ToString("N"));

    public BackboneTempDir() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
