using MLPipelines.Backbones;
using Xunit.Abstractions;
using static MLPipelines.Tests.Backbones.BackboneTestSupport;

namespace MLPipelines.Tests.Backbones;

/// <summary><see cref="BatchedFeaturizer"/>: cache, errors, progress, CUDA fallback (tiny random-weight model).</summary>
public sealed class BatchedFeaturizerBackboneTests(ITestOutputHelper output) : IDisposable
{
    private readonly BackboneTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private BackboneSpec TinySpec() =>
        BackboneSpec.ResNet50(WriteTinyModel(_dir.Path, "tiny.onnx", 24, size: 32)) with { EmbeddingSize = 24, ImageSize = 32 };

    [Fact]
    public void Cache_HitsOnTheSecondRun_AndInvalidatesAChangedFile()
    {
        var spec = TinySpec();
        var images = BackboneCompileTests.WriteImages(_dir.Path, 6);
        string cache = Path.Combine(_dir.Path, "cache");
        var options = new BatchedFeaturizerOptions { BatchSize = 4, CacheDirectory = cache };

        FeaturizationResult first;
        using (var f = new BatchedFeaturizer(spec, options)) first = f.Featurize(images);
        Assert.Equal(0, first.CacheHits);
        Assert.Single(Directory.GetFiles(cache, "index.tsv", SearchOption.AllDirectories));
        Assert.NotEmpty(Directory.GetFiles(cache, "*.npy", SearchOption.AllDirectories));

        var progress = new List<int>();
        FeaturizationResult second;
        using (var f = new BatchedFeaturizer(spec, options)) second = f.Featurize(images, new SyncProgress(progress));
        Assert.Equal(images.Count, second.CacheHits);
        Assert.Equal(first.Embeddings, second.Embeddings);
        Assert.Equal(images.Count, progress[^1]);

        // Change one image (other content, later time): only that one is recomputed, and its embedding changes.
        File.WriteAllBytes(images[2], MLPipelines.Tests.Data.Bmp.Create(30, 30, (x, y) => (200, (byte)x, (byte)y)));
        File.SetLastWriteTimeUtc(images[2], DateTime.UtcNow.AddMinutes(1));
        FeaturizationResult third;
        using (var f = new BatchedFeaturizer(spec, options)) third = f.Featurize(images);
        Assert.Equal(images.Count - 1, third.CacheHits);
        Assert.NotEqual(first.Row(2).ToArray(), third.Row(2).ToArray());
        Assert.Equal(first.Row(3).ToArray(), third.Row(3).ToArray());

        // A different model (other weights) does not see these entries.
        var other = BackboneSpec.ResNet50(WriteTinyModel(_dir.Path, "other.onnx", 24, size: 32, seed: 2)) with { EmbeddingSize = 24, ImageSize = 32 };
        using (var f = new BatchedFeaturizer(other, options)) Assert.Equal(0, f.Featurize(images).CacheHits);
        output.WriteLine($"cache folders: {string.Join(", ", Directory.GetDirectories(cache).Select(Path.GetFileName))}");
    }

    [Fact]
    public void CorruptImage_FailsWithItsName()
    {
        var images = BackboneCompileTests.WriteImages(_dir.Path, 5);
        string bad = Path.Combine(_dir.Path, "broken.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        images.Insert(3, bad);
        using var f = new BatchedFeaturizer(TinySpec(), new BatchedFeaturizerOptions { BatchSize = 2, DecodeThreads = 2 });
        var ex = Assert.Throws<InvalidDataException>(() => f.Featurize(images));
        output.WriteLine(ex.Message);
        Assert.Contains("broken.jpg", ex.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => f.Featurize([Path.Combine(_dir.Path, "nope.png")]));
        Assert.Contains("nope.png", missing.Message);
    }

    [Fact]
    public void BatchSizes_GiveTheSameEmbeddings_AndRunMatchesFeaturize()
    {
        var spec = TinySpec();
        var images = BackboneCompileTests.WriteImages(_dir.Path, 7);
        using var one = new BatchedFeaturizer(spec, new BatchedFeaturizerOptions { BatchSize = 1 });
        using var many = new BatchedFeaturizer(spec, new BatchedFeaturizerOptions { BatchSize = 5, DecodeThreads = 3, QueueCapacity = 1 });
        var a = one.Featurize(images);
        var b = many.Featurize(images);
        AssertClose(a.Embeddings, b.Embeddings, 1e-6, output, "batch 1 vs 5");
        float[] pixels = RandomPixels(3, 32, 1);
        AssertClose(one.Run(pixels, 3), many.Run(pixels, 3), 1e-6, output, "Run batch 1 vs 5");
        Assert.Empty(many.Featurize([]).Embeddings);
    }

    [SkippableFact]
    public void Cuda_WithTheCpuPackage_FallsBackToCpuWithAMessage()
    {
        var messages = new List<string>();
        using var f = new BatchedFeaturizer(TinySpec(), new BatchedFeaturizerOptions { UseCuda = true, Log = messages.Add });
        output.WriteLine($"provider {f.ExecutionProvider}; {f.FallbackReason}");
        Skip.If(f.ExecutionProvider == "CUDA", "a GPU build of ONNX Runtime is present: there is no fallback to test");
        Assert.Equal("CPU", f.ExecutionProvider);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", f.FallbackReason);
        Assert.Single(messages);
        Assert.Equal(24, f.Run(RandomPixels(1, 32, 2), 1).Length);
    }

    private sealed class SyncProgress(List<int> values) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (values) values.Add(value);
        }
    }
}
