using Microsoft.ML;
using MLPipelines.Backbones;
using MLPipelines.Onnx;
using MLPipelines.Tests.Onnx;
using Xunit.Abstractions;
using static MLPipelines.Tests.Backbones.BackboneTestSupport;

namespace MLPipelines.Tests.Backbones;

/// <summary>
/// <see cref="Backbone.CompileModel"/> on tiny random-weight models that have the input/output names and normalisation of
/// torchvision ResNet-50 / DenseNet-121 exports (real pretrained weights cannot be downloaded here).
/// </summary>
public sealed class BackboneCompileTests(ITestOutputHelper output) : IDisposable
{
    private readonly BackboneTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("ResNet50", 2048)]
    [InlineData("DenseNet121", 1024)]
    public void Presets_OnTinyTorchvisionLikeModels_MatchManualNormalisation(string preset, int channels)
    {
        string path = WriteTinyModel(_dir.Path, preset + ".onnx", channels);
        var spec = preset == "ResNet50" ? BackboneSpec.ResNet50(path) : BackboneSpec.DenseNet121(path);
        Assert.Equal(channels, spec.EmbeddingSize);
        var compiled = Backbone.CompileModel(spec);
        const int n = 3;
        float[] pixels = RandomPixels(n, 224, seed: 7);

        var got = OrtRunner.Run(compiled.ToArray(), (compiled.InputName, pixels, [n, spec.PixelCount]))[compiled.OutputName];
        Assert.Equal([n, channels], got.Shape);
        var expected = OrtRunner.Run(File.ReadAllBytes(path), ("input", TorchvisionNormalise(pixels, n, 224), [n, 3, 224, 224]))["output"];
        AssertClose(expected.Floats!, got.Floats!, 1e-5, output, preset);
    }

    [Fact]
    public void CutAt_MakesTheIntermediateTensorTheOutput_AndPrunesTheClassifier()
    {
        string path = WriteTinyModel(_dir.Path, "with-fc.onnx", 64, withClassifier: true);
        var spec = BackboneSpec.ResNet50(path, cutAt: "pooled") with { EmbeddingSize = 64 };
        var compiled = Backbone.CompileModel(spec);
        var graph = OnnxModelIO.Parse(compiled.ModelBytes.Span).Graph!;
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Gemm");
        Assert.DoesNotContain(graph.Initializers, t => t.Name.StartsWith("fc_", StringComparison.Ordinal));
        Assert.Equal([compiled.OutputName], graph.Outputs.Select(o => o.Name));

        float[] pixels = RandomPixels(2, 224, seed: 3);
        var got = OrtRunner.Run(compiled.ToArray(), (compiled.InputName, pixels, [2, spec.PixelCount]))[compiled.OutputName];
        // Reference: the same tiny network without the classifier (same seed → same conv weights).
        string plain = WriteTinyModel(_dir.Path, "plain.onnx", 64);
        var expected = OrtRunner.Run(File.ReadAllBytes(plain), ("input", TorchvisionNormalise(pixels, 2, 224), [2, 3, 224, 224]))["output"];
        AssertClose(expected.Floats!, got.Floats!, 1e-5, output, "cut at pooled");
    }

    [Fact]
    public void NhwcLayout_AddsATranspose()
    {
        string path = WriteTinyModel(_dir.Path, "nhwc.onnx", 16, nhwc: true, size: 64);
        var spec = BackboneSpec.DenseNet121(path) with { EmbeddingSize = 16, ImageSize = 64, Layout = BackboneLayout.Nhwc };
        var compiled = Backbone.CompileModel(spec);
        float[] pixels = RandomPixels(2, 64, seed: 5);
        var got = OrtRunner.Run(compiled.ToArray(), (compiled.InputName, pixels, [2, spec.PixelCount]))[compiled.OutputName];
        var expected = OrtRunner.Run(File.ReadAllBytes(path), ("input", TorchvisionNormalise(pixels, 2, 64, nhwc: true), [2, 64, 64, 3]))["output"];
        AssertClose(expected.Floats!, got.Floats!, 1e-5, output, "NHWC");
    }

    [Theory]
    [InlineData("tiny-nchw")]
    [InlineData("tiny-nhwc")]
    [InlineData("mlnet-resnet18")] // opset 8, BGR minus a mean image: the mirror is taken before the normalisation
    public void MirrorAverage_IsTheMeanOfTheEmbeddingsOfTheImagesAndOfTheirMirrors(string which)
    {
        var spec = which switch
        {
            "tiny-nchw" => BackboneSpec.ResNet50(WriteTinyModel(_dir.Path, "mirror.onnx", 32, size: 64)) with { EmbeddingSize = 32, ImageSize = 64 },
            "tiny-nhwc" => BackboneSpec.DenseNet121(WriteTinyModel(_dir.Path, "mirror-nhwc.onnx", 16, nhwc: true, size: 64))
                with { EmbeddingSize = 16, ImageSize = 64, Layout = BackboneLayout.Nhwc },
            _ => BackboneSpec.ResNet18(),
        };
        const int n = 3;
        int size = spec.ImageSize, d = spec.PixelCount;
        float[] pixels = RandomPixels(n, size, seed: 11);
        var mirroredPixels = new float[pixels.Length];
        for (int i = 0; i < n * 3 * size; i++) // every row of every plane, columns reversed
            for (int x = 0; x < size; x++)
                mirroredPixels[(i * size) + x] = pixels[(i * size) + size - 1 - x];

        float[] Embed(CompiledBackbone model, float[] input)
        {
            var r = OrtRunner.Run(model.ToArray(), (model.InputName, input, [n, d]))[model.OutputName];
            Assert.Equal([n, spec.EmbeddingSize], r.Shape);
            return r.Floats!;
        }

        var plain = Backbone.CompileModel(spec);
        float[] asGiven = Embed(plain, pixels), ofMirrors = Embed(plain, mirroredPixels);
        float[] got = Embed(Backbone.CompileModel(spec with { MirrorAverage = true }), pixels);
        var expected = asGiven.Zip(ofMirrors, (a, b) => 0.5f * (a + b)).ToArray();
        AssertClose(expected, got, 1e-5, output, which + " mirror mean");
        // The network is not mirror-symmetric, so the mean differs from the plain embedding (the check can fail).
        Assert.True(asGiven.Zip(got, (a, b) => Math.Abs(a - b)).Max() > 1e-4 * asGiven.Max(Math.Abs), "the mirror made no difference");
    }

    [Fact]
    public void Compile_ReportsMismatchedNamesAndSizes()
    {
        string path = WriteTinyModel(_dir.Path, "m.onnx", 32);
        var ok = BackboneSpec.ResNet50(path) with { EmbeddingSize = 32 };
        var e1 = Assert.Throws<ArgumentException>(() => Backbone.CompileModel(ok with { InputName = "data" }));
        Assert.Contains("no input 'data'", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Backbone.CompileModel(ok with { EmbeddingSize = 2048 }));
        Assert.Contains("32 features", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Backbone.CompileModel(ok with { CutAt = "nope" }));
        Assert.Contains("'nope'", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => Backbone.CompileModel(ok with { ImageSize = 100 }));
        Assert.Contains("ImageSize 100", e4.Message);
        Assert.Throws<FileNotFoundException>(() => Backbone.CompileModel(ok with { ModelPath = Path.Combine(_dir.Path, "missing.onnx") }));
    }

    [Fact]
    public void ChainAndBatched_GiveTheSameEmbeddings_OnSyntheticImages()
    {
        string path = WriteTinyModel(_dir.Path, "tiny.onnx", 32, size: 64);
        var spec = BackboneSpec.ResNet50(path) with { EmbeddingSize = 32, ImageSize = 64 };
        var images = WriteImages(_dir.Path, 5);
        var ml = new MLContext(seed: 1);
        var data = PathsView(ml, images);
        var model = ml.Transforms.ExtractEmbeddings(spec).Fit(data);
        float[] chain = ReadVectors(model.Transform(data), "Features", 32);
        Assert.DoesNotContain(model.Transform(data).Schema, c => c.Name == "Features_Pixels");

        using var featurizer = new BatchedFeaturizer(spec, new BatchedFeaturizerOptions { BatchSize = 2, DecodeThreads = 2 });
        var batched = featurizer.Featurize(images);
        AssertClose(chain, batched.Embeddings, 1e-5, output, "chain vs batched");

        // The zip holds only stock ML.NET transformers (the ONNX bytes embedded) and loads in a fresh context.
        string zip = Path.Combine(_dir.Path, "embeddings.zip");
        ml.Model.Save(model, data.Schema, zip);
        File.Delete(path); // the original .onnx is not needed any more
        var fresh = new MLContext(seed: 5);
        var loaded = fresh.Model.Load(zip, out _);
        var types = Flatten(loaded).Select(t => t.GetType()).ToList();
        output.WriteLine("loaded transformers: " + string.Join(", ", types.Select(t => t.Name)));
        Assert.All(types, t => Assert.StartsWith("Microsoft.ML", t.Assembly.GetName().Name, StringComparison.Ordinal));
        Assert.Equal(chain, ReadVectors(loaded.Transform(PathsView(fresh, images)), "Features", 32));
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer t) =>
        t is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [t];

    internal static List<string> WriteImages(string folder, int count, int seed = 11)
    {
        var rng = new Random(seed);
        var paths = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int w = 40 + 7 * i, h = 50 - 3 * i;
            var bytes = MLPipelines.Tests.Data.Bmp.Create(w, h, (x, y) => ((byte)rng.Next(256), (byte)(x * 255 / w), (byte)(y * 255 / h)));
            string p = Path.Combine(folder, $"img{i}.bmp");
            File.WriteAllBytes(p, bytes);
            paths.Add(p);
        }
        return paths;
    }
}
