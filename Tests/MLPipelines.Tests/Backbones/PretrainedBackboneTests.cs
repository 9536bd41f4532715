using Microsoft.ML;
using MLPipelines.Backbones;
using MLPipelines.Onnx;
using MLPipelines.Tests.Onnx;
using Xunit.Abstractions;
using static MLPipelines.Tests.Backbones.BackboneTestSupport;

namespace MLPipelines.Tests.Backbones;

/// <summary>Compiles ML.NET's ResNet-18 (from its NuGet package) once for the class.</summary>
public sealed class ResNet18BackboneFixture
{
    public ResNet18BackboneFixture()
    {
        Spec = BackboneSpec.ResNet18();
        Compiled = Backbone.CompileModel(Spec);
    }

    public BackboneSpec Spec { get; }

    public CompiledBackbone Compiled { get; }
}

/// <summary>The real pretrained backbones: ML.NET's ResNet-18 and the zoo's int8 MobileNetV2 (a few images only).</summary>
public sealed class PretrainedBackboneTests(ResNet18BackboneFixture fx, ITestOutputHelper output) : IClassFixture<ResNet18BackboneFixture>, IDisposable
{
    private readonly BackboneTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ResNet18_FilesComeFromTheNuGetPackage_AndThePreprocessingIsBgrMinusAMeanImage()
    {
        Assert.True(File.Exists(BackboneFiles.ResNet18Path));
        Assert.True(File.Exists(BackboneFiles.ResNetPreprocessPath));
        var n = fx.Spec.Normalization;
        Assert.True(n.SwapRgbToBgr);
        Assert.Equal(1f, n.PixelScale);
        Assert.NotNull(n.MeanImage);
        Assert.Equal(3 * 224 * 224, n.MeanImage!.Count);
        for (int c = 0; c < 3; c++)
        {
            var plane = n.MeanImage.Skip(c * 224 * 224).Take(224 * 224).ToArray();
            output.WriteLine($"mean image channel {"BGR"[c]}: min {plane.Min():F2} max {plane.Max():F2} average {plane.Average():F2}");
            Assert.InRange(plane.Average(), 90, 135);
        }
        Assert.Empty(fx.Compiled.Notes);
        Assert.Equal(512, fx.Compiled.EmbeddingSize);
    }

    [Fact]
    public void ResNet18_CompiledGraph_MatchesTheOriginalModelWithManualPreprocessing_AndBatch1EqualsBatch5()
    {
        const int n = 5;
        float[] pixels = RandomPixels(n, 224, seed: 21);
        var compiled = fx.Compiled.ToArray();
        var batch5 = OrtRunner.Run(compiled, (fx.Compiled.InputName, pixels, [n, fx.Spec.PixelCount]))[fx.Compiled.OutputName];
        Assert.Equal([n, 512], batch5.Shape);

        // The same 5 images one at a time through the compiled graph (dynamic batch 1 vs 5).
        int d = fx.Spec.PixelCount;
        var batch1 = new float[n * 512];
        for (int i = 0; i < n; i++)
        {
            var r = OrtRunner.Run(compiled, (fx.Compiled.InputName, pixels[(i * d)..((i + 1) * d)], [1, d]))[fx.Compiled.OutputName];
            r.Floats!.CopyTo(batch1, i * 512);
        }
        AssertClose(batch1, batch5.Floats!, 1e-5, output, "batch 1 vs batch 5");

        // The original CNTK model (batch 1) on manually preprocessed input: R,G,B → B,G,R, minus the mean image.
        var original = File.ReadAllBytes(fx.Spec.ModelPath);
        var mean = fx.Spec.Normalization.MeanImage!;
        int hw = 224 * 224;
        for (int i = 0; i < 2; i++)
        {
            var x = new float[d];
            for (int c = 0; c < 3; c++)
            for (int k = 0; k < hw; k++)
                x[c * hw + k] = pixels[i * d + (2 - c) * hw + k] - mean[c * hw + k];
            var r = OrtRunner.Run(original, ("Input247", x, [1, 3, 224, 224]))["Pooling395_Output_0"];
            Assert.Equal([1, 512, 1, 1], r.Shape);
            AssertClose(r.Floats!, batch5.Floats![(i * 512)..((i + 1) * 512)], 1e-4, output, $"image {i}: original vs compiled");
        }
    }

    [SkippableFact]
    public void ResNet18_OnRealImages_ChainBatchedReloadedAndMlNetsOwnFeaturizerAgree()
    {
        var images = RequireSignImages(3);
        var ml = new MLContext(seed: 1);
        var data = PathsView(ml, images);

        // (a) ML.NET chain, saved and reloaded in a fresh context.
        var model = ml.Transforms.ExtractEmbeddings(fx.Spec).Fit(data);
        float[] chain = ReadVectors(model.Transform(data), "Features", 512);
        string zip = Path.Combine(_dir.Path, "resnet18-embeddings.zip");
        ml.Model.Save(model, data.Schema, zip);
        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(zip, out _);
        float[] reloaded = ReadVectors(loaded.Transform(PathsView(fresh, images)), "Features", 512);
        Assert.Equal(chain, reloaded);
        output.WriteLine($"zip {new FileInfo(zip).Length / 1e6:F1} MB");

        // (b) Batched ONNX Runtime path, batches of 2 (2 + 1).
        using var featurizer = new BatchedFeaturizer(fx.Compiled, new BatchedFeaturizerOptions { BatchSize = 2 });
        var batched = featurizer.Featurize(images);
        AssertClose(chain, batched.Embeddings, 1e-4, output, "chain vs batched");

        // (c) ML.NET's own DnnFeaturizeImage(ResNet-18) with the same resize.
        var reference = ml.Transforms.LoadImages("Img", null, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Img", 224, 224, "Img"))
            .Append(ml.Transforms.ExtractPixels("Pixels", "Img"))
            .Append(ml.Transforms.DnnFeaturizeImage("Ref", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels"));
        float[] mlnet = ReadVectors(reference.Fit(data).Transform(data), "Ref", 512);
        AssertClose(mlnet, chain, 1e-4, output, "ML.NET DnnFeaturizeImage vs ours");
        Assert.Contains(chain, v => v > 0.1f);
    }

    [SkippableFact]
    public void MobileNetV2_CutAtThePooledFeatures_Gives1280()
    {
        var spec = BackboneSpec.MobileNetV2(RequireMobileNetV2());
        var compiled = Backbone.CompileModel(spec);
        var graph = OnnxModelIO.Parse(compiled.ModelBytes.Span).Graph!;
        Assert.DoesNotContain(graph.Nodes, nd => nd.OpType == "QLinearMatMul");
        Assert.Contains(graph.Nodes, nd => nd.OpType == "DequantizeLinear" && nd.Inputs[0] == "464_quantized");

        float[] pixels = RandomPixels(2, 224, seed: 4);
        var got = OrtRunner.Run(compiled.ToArray(), (compiled.InputName, pixels, [2, spec.PixelCount]))[compiled.OutputName];
        Assert.Equal([2, 1280], got.Shape);
        Assert.All(got.Floats!, v => Assert.True(v >= 0 && float.IsFinite(v))); // average of ReLU6 outputs
    }

    [SkippableFact]
    public void MobileNetV2_OnRealImages_ChainAndBatchedAgree()
    {
        var spec = BackboneSpec.MobileNetV2(RequireMobileNetV2());
        var images = RequireSignImages(2);
        var compiled = Backbone.CompileModel(spec);
        var ml = new MLContext(seed: 1);
        var data = PathsView(ml, images);
        float[] chain = ReadVectors(ml.Transforms.ExtractEmbeddings(spec).Fit(data).Transform(data), "Features", 1280);
        using var featurizer = new BatchedFeaturizer(compiled, new BatchedFeaturizerOptions { BatchSize = 2 });
        AssertClose(chain, featurizer.Featurize(images).Embeddings, 1e-4, output, "MobileNetV2 chain vs batched");
    }
}
