using Microsoft.ML;
using MLPipelines.Data;
using MLPipelines.Onnx;
using MLPipelines.Testing;
using MLPipelines.Tests.Onnx;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Transfer;

/// <summary>Pretrained weights: ML.NET's ResNet18.onnx against ONNX Runtime, torchvision state dicts through PyBridge.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)] // libtorch's global seed and thread count
public sealed class TransferWeightsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlp-transfer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ML.NET's ResNet18.onnx and ResNetPreprocess.onnx: the test project's reference to Microsoft.ML.DnnImageFeaturizer.ResNet18
    // copies them to the output folder, so they are always there (BackboneFiles throws, naming the package, if the build lost them).

    [TorchFact]
    public void MlNetResNet18_FeaturesMatchOnnxRuntime_OnRealImages()
    {
        string modelPath = MLPipelines.Backbones.BackboneFiles.ResNet18Path;
        string prepPath = MLPipelines.Backbones.BackboneFiles.ResNetPreprocessPath;
        string cars = TestData.RequireDataset(StanfordCars.FolderName);
        var paths = Directory.GetFiles(Path.Combine(cars, "cars_train"), "*.jpg").Order(StringComparer.Ordinal).Take(4).ToList();

        var ml = new MLContext(1);
        float[] pixels = ImagePreprocessing.ExtractFeatures(ml, paths, new ImagePreprocessingOptions { ImageSize = 224, Grayscale = false, Scale = 1f });
        byte[] prep = File.ReadAllBytes(prepPath);
        byte[] model = File.ReadAllBytes(modelPath);

        // The mean constants of InputNormalization are the channel averages of the preprocessing's mean image.
        var mean = OnnxModelIO.Load(prepPath).Graph!.FindInitializer("MeanImage")!.GetFloats();
        int hw = 224 * 224;
        for (int c = 0; c < 3; c++)
            Assert.Equal(mean.Skip(c * hw).Take(hw).Average(), InputNormalization.MlNetResNetMeanRgb[2 - c], 3);

        TorchSeed.Set(1);
        using var net = ResNet.MlNetResNet18(10);
        PretrainedWeights.LoadMlNetResNet18(net, modelPath);
        net.eval();
        double worstExact = 0, worstApprox = 0, minCosine = 1;
        for (int i = 0; i < paths.Count; i++)
        {
            float[] rgb = pixels.AsSpan(i * 3 * hw, 3 * hw).ToArray();
            long[] shape = [1, 3, 224, 224];
            float[] bgrCentred = OrtRunner.Run(prep, ("OriginalInput", rgb, shape))["PreprocessedInput"].Floats!;
            float[] expected = OrtRunner.Run(model, ("Input247", bgrCentred, shape))["Pooling395_Output_0"].Floats!;
            Assert.Equal(512, expected.Length);

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // Exact: the same preprocessed tensor (back in RGB order, since the loader folds BGR into conv1).
            var centred = tensor(bgrCentred, shape).flip(1);
            net.Normalization = null;
            float[] exact = net.Features(centred).data<float>().ToArray();
            // The project's convention: pixels / 255 and the per-channel mean (not the spatial mean image).
            var unit = tensor(rgb, shape) / 255f;
            net.Normalization = InputNormalization.MlNetResNet18;
            float[] approx = net.Features(unit).data<float>().ToArray();

            double scale = expected.Max(v => Math.Abs(v));
            double exactRel = ExportCheckMax(expected, exact) / scale;
            double approxRel = ExportCheckMax(expected, approx) / scale;
            double cosine = Cosine(expected, approx);
            output.WriteLine($"{Path.GetFileName(paths[i])}: max|f| {scale:F3}; exact preprocessing rel. max diff {exactRel:E2}; " +
                             $"per-channel mean rel. max diff {approxRel:E2}, cosine {cosine:F5}");
            worstExact = Math.Max(worstExact, exactRel);
            worstApprox = Math.Max(worstApprox, approxRel);
            minCosine = Math.Min(minCosine, cosine);
        }
        output.WriteLine($"worst relative max diff {worstExact:E2} (exact preprocessing), {worstApprox:E2} (per-channel mean); min cosine {minCosine:F5}");
        Assert.True(worstExact <= 1e-3, $"TorchSharp vs ONNX Runtime: relative max diff {worstExact:E2} > 1e-3");
        Assert.True(minCosine > 0.99, $"per-channel mean approximation: cosine {minCosine}");
    }

    [TorchFact]
    public void MlNetResNet18_RejectsTorchvisionLayout()
    {
        string modelPath = MLPipelines.Backbones.BackboneFiles.ResNet18Path;
        using var net = ResNet.ResNet18(10);
        var e = Assert.Throws<InvalidDataException>(() => PretrainedWeights.LoadMlNetResNet18(net, modelPath));
        Assert.Contains("[2, 2, 2, 3]", e.Message);
        output.WriteLine(e.Message);
    }

    private static double ExportCheckMax(float[] a, float[] b) => MLPipelines.Tests.Torch.Export.ExportCheck.MaxAbsDiff(a, b);

    private static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return ab / Math.Sqrt(aa * bb);
    }

    [TorchFact]
    public void TorchvisionStateDict_RoundTripsByName_ThroughPyTorchPickle()
    {
        foreach (var name in new[] { "resnet18", "resnet50", "densenet121" })
        {
            TorchSeed.Set(11);
            using var source = TransferBackboneTests.Create(name, 1000);
            TransferBackboneTests.RandomizeBatchNorm(source);
            string path = Path.Combine(_dir, name + ".pth");
            PretrainedWeights.SaveTorchStateDict(source, path);

            TorchSeed.Set(12);
            using var target = TransferBackboneTests.Create(name, 1000);
            target.ReplaceHead(5);
            var report = PretrainedWeights.LoadTorchvisionWeights(target, path);
            var s = source.state_dict();
            var t = target.state_dict();
            foreach (var k in report.Loaded)
                Assert.True(s[k].equal(t[k]).all().item<bool>(), $"{name}: {k} differs after loading");
            Assert.DoesNotContain(report.Loaded, k => k.StartsWith(target.HeadName + ".", StringComparison.Ordinal));
            Assert.Contains(target.HeadName + ".weight", report.SkippedHead);
            Assert.Equal([5L, target.FeatureCount], t[target.HeadName + ".weight"].shape);
            output.WriteLine($"{name}: {report.Loaded.Count} entries loaded, head skipped ({report.SkippedHead.Count}), ignored {report.IgnoredBookkeeping.Count}; file {new FileInfo(path).Length / 1e6:F1} MB");

            // With the head: the file's 1000-class fc does not fit a 5-class head -> shape mismatch named.
            var e = Assert.Throws<InvalidDataException>(() => PretrainedWeights.LoadTorchvisionWeights(target, path, loadHead: true));
            Assert.Contains($"{target.HeadName}.weight: file [1000, {target.FeatureCount}], module [5, {target.FeatureCount}]", e.Message);
        }
    }

    [TorchFact]
    public void TorchvisionStateDict_ListsMissingUnexpectedAndMismatchedKeys()
    {
        TorchSeed.Set(2);
        using var net = ResNet.ResNet18(10);
        var dict = net.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        dict.Remove("layer3.1.bn2.running_var");
        dict["layer5.0.conv1.weight"] = zeros(3);
        dict["layer1.0.conv1.weight"] = zeros(64, 64, 5, 5);
        string path = Path.Combine(_dir, "broken.pth");
        PyTorchPickler.PickleStateDict(path, dict);
        using var target = ResNet.ResNet18(10);
        var before = target.state_dict()["layer2.0.conv1.weight"].clone();
        var e = Assert.Throws<InvalidDataException>(() => PretrainedWeights.LoadTorchvisionWeights(target, path));
        output.WriteLine(e.Message);
        Assert.Contains("1 missing, 1 unexpected, 1 with another shape", e.Message);
        Assert.Contains("layer3.1.bn2.running_var", e.Message);
        Assert.Contains("layer5.0.conv1.weight", e.Message);
        Assert.Contains("layer1.0.conv1.weight: file [64, 64, 5, 5], module [64, 64, 3, 3]", e.Message);
        Assert.True(before.equal(target.state_dict()["layer2.0.conv1.weight"]).all().item<bool>(), "nothing may be copied when the check fails");
    }
}
