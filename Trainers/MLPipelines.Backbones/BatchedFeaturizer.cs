using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MLPipelines.Data;

namespace MLPipelines.Backbones;

/// <summary>Options of <see cref="BatchedFeaturizer"/>.</summary>
public sealed class BatchedFeaturizerOptions
{
    /// <summary>Images per ONNX Runtime call. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (one per physical core). Default 0.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime inter-op threads (operators run sequentially, so 1 is enough); 0 lets ONNX Runtime choose. Default 1.</summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>Threads decoding and resizing images while the model runs. Default 1.</summary>
    public int DecodeThreads { get; init; } = 1;

    /// <summary>Decoded batches that may wait for the model (bounds memory). Default 2.</summary>
    public int QueueCapacity { get; init; } = 2;

    /// <summary>Folder of the on-disk embedding cache (see <see cref="BatchedFeaturizer"/>); null disables it. Default null.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Newly computed embeddings are written to the cache every this many images (and at the end). Default 4096.</summary>
    public int CacheFlushRows { get; init; } = 4096;

    /// <summary>
    /// Run on the GPU with ONNX Runtime's CUDA execution provider. With the CPU package (Microsoft.ML.OnnxRuntime) the
    /// provider cannot load: the featurizer then runs on the CPU and reports why in <see cref="BatchedFeaturizer.FallbackReason"/>
    /// and through <see cref="Log"/>. Default false.
    /// </summary>
    public bool UseCuda { get; init; }

    /// <summary>CUDA device ordinal. Default 0.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>Receives informational messages (e.g. the CUDA fallback). Default null.</summary>
    public Action<string>? Log { get; init; }

    internal void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (IntraOpThreads < 0) throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be 0 or more.");
        if (InterOpThreads < 0) throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "InterOpThreads must be 0 or more.");
        if (DecodeThreads < 1) throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "DecodeThreads must be positive.");
        if (QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "QueueCapacity must be positive.");
        if (CacheFlushRows < 1) throw new ArgumentOutOfRangeException(nameof(CacheFlushRows), CacheFlushRows, "CacheFlushRows must be positive.");
        if (CudaDeviceId < 0) throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, "CudaDeviceId must be 0 or more.");
    }
}

/// <summary>The embeddings of a <see cref="BatchedFeaturizer.Featurize"/> call.</summary>
public sealed class FeaturizationResult
{
    internal FeaturizationResult(float[] embeddings, int count, int dimension, int cacheHits, TimeSpan elapsed)
    {
        Embeddings = embeddings;
        Count = count;
        Dimension = dimension;
        CacheHits = cacheHits;
        Elapsed = elapsed;
    }

    /// <summary>All embeddings, row i at [i × Dimension, (i + 1) × Dimension), in the order of the input paths.</summary>
    public float[] Embeddings { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Features per image.</summary>
    public int Dimension { get; }

    /// <summary>Images whose embedding came from the cache.</summary>
    public int CacheHits { get; }

    /// <summary>Images whose embedding was computed.</summary>
    public int Computed => Count - CacheHits;

    /// <summary>Wall time of the call.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The embedding of image <paramref name="index"/>.</summary>
    /// <param name="index">Row.</param>
    /// <returns>A view of <see cref="Dimension"/> floats.</returns>
    public ReadOnlySpan<float> Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Embeddings.AsSpan(index * Dimension, Dimension);
    }
}

/// <summary>
/// Embeds many images with a compiled backbone through ONNX Runtime directly (no ML.NET row-at-a-time execution):
/// images are decoded, resized and turned into pixels by ML.NET's own image transforms (the exact options of
/// <see cref="BackboneCatalogExtensions.ExtractEmbeddings"/>, see <see cref="BackboneImageOptions.For"/>, so both give
/// the same embeddings) on <see cref="BatchedFeaturizerOptions.DecodeThreads"/> producer threads, which feed a bounded
/// queue of batches to the model. Optionally caches embeddings on disk, keyed by the compiled model's SHA-256 and by
/// each image's full path, size and last-write time, as <c>.npy</c> shards plus an <c>index.tsv</c>.
/// One instance is not meant to run several <see cref="Featurize"/> calls at once.
/// </summary>
public sealed class BatchedFeaturizer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly BatchedFeaturizerOptions _options;
    private readonly EmbeddingCache? _cache;

    /// <summary>Compiles <paramref name="spec"/> and opens an ONNX Runtime session on it.</summary>
    /// <param name="spec">The backbone.</param>
    /// <param name="options">Options; defaults when null.</param>
    public BatchedFeaturizer(BackboneSpec spec, BatchedFeaturizerOptions? options = null)
        : this(Backbone.CompileModel(spec), options)
    {
    }

    /// <summary>Opens an ONNX Runtime session on an already compiled backbone.</summary>
    /// <param name="model">The compiled backbone.</param>
    /// <param name="options">Options; defaults when null.</param>
    public BatchedFeaturizer(CompiledBackbone model, BatchedFeaturizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = options ?? new BatchedFeaturizerOptions();
        _options.Validate();
        Model = model;
        (_session, ExecutionProvider, FallbackReason) = OpenSession(model, _options);
        if (_options.CacheDirectory is { } dir) _cache = new EmbeddingCache(dir, model.ModelHash, model.EmbeddingSize);
    }

    /// <summary>The compiled backbone.</summary>
    public CompiledBackbone Model { get; }

    /// <summary>Features per image.</summary>
    public int EmbeddingSize => Model.EmbeddingSize;

    /// <summary>"CUDA" or "CPU": where the model runs.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Why CUDA was requested but the CPU is used; null otherwise.</summary>
    public string? FallbackReason { get; }

    /// <summary>The cache folder for this model (<c>CacheDirectory/&lt;hash prefix&gt;</c>), or null without a cache.</summary>
    public string? CacheFolder => _cache?.Folder;

    /// <summary>
    /// Runs the model on pixel vectors already extracted (0-255 RGB, channels first, <see cref="CompiledBackbone.PixelCount"/>
    /// values per image), <see cref="BatchedFeaturizerOptions.BatchSize"/> images per call.
    /// </summary>
    /// <param name="pixels">count × PixelCount values.</param>
    /// <param name="count">Number of images.</param>
    /// <returns>count × EmbeddingSize values.</returns>
    public float[] Run(ReadOnlyMemory<float> pixels, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int d = Model.PixelCount;
        if (pixels.Length != (long)count * d)
            throw new ArgumentException($"Expected {count} × {d} = {(long)count * d} pixel values, got {pixels.Length}.", nameof(pixels));
        var result = new float[(long)count * EmbeddingSize];
        for (int start = 0; start < count; start += _options.BatchSize)
        {
            int n = Math.Min(_options.BatchSize, count - start);
            RunBatch(pixels.Slice(start * d, n * d), n, result.AsSpan(start * EmbeddingSize, n * EmbeddingSize));
        }
        return result;
    }

    /// <summary>Embeds image files (see <see cref="FeaturizeAsync"/>); blocks until done.</summary>
    /// <param name="imagePaths">Image files.</param>
    /// <param name="progress">Receives the number of images done (cache hits first, then after each batch).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The embeddings in input order.</returns>
    public FeaturizationResult Featurize(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        FeaturizeAsync(imagePaths, progress, cancellationToken).ConfigureAwait(false).GetAwaiter().GetResult();

    /// <summary>
    /// Embeds image files: cached embeddings are reused; the other images are decoded and resized by ML.NET's image
    /// transforms on producer threads while the model runs on earlier batches.
    /// </summary>
    /// <param name="imagePaths">Image files.</param>
    /// <param name="progress">Receives the number of images done (cache hits first, then after each batch).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The embeddings in input order.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist (the message names it); raised before any work.</exception>
    /// <exception cref="InvalidDataException">A file cannot be decoded as an image (the message names it).</exception>
    public async Task<FeaturizationResult> FeaturizeAsync(IReadOnlyList<string> imagePaths, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        var stopwatch = Stopwatch.StartNew();
        int count = imagePaths.Count, e = EmbeddingSize;
        for (int i = 0; i < count; i++)
        {
            if (string.IsNullOrEmpty(imagePaths[i])) throw new ArgumentException($"Image path {i} is empty.", nameof(imagePaths));
            if (!File.Exists(imagePaths[i])) throw new FileNotFoundException($"Image file '{imagePaths[i]}' does not exist.", imagePaths[i]);
        }
        var result = new float[(long)count * e];
        var keys = new (string Path, long Size, long Ticks)?[count];
        var todo = new List<int>(count);
        int hits = 0;
        for (int i = 0; i < count; i++)
        {
            if (_cache is not null)
            {
                keys[i] = EmbeddingCache.KeyOf(imagePaths[i]);
                if (keys[i] is { } key && _cache.TryGet(key, result.AsSpan(i * e, e)))
                {
                    hits++;
                    continue;
                }
            }
            todo.Add(i);
        }
        if (hits > 0 || count == 0) progress?.Report(hits);
        if (todo.Count > 0) await ComputeAsync(imagePaths, todo, keys, result, hits, progress, cancellationToken).ConfigureAwait(false);
        return new FeaturizationResult(result, count, e, hits, stopwatch.Elapsed);
    }

    private sealed record PixelBatch(int[] Rows, float[] Pixels);

    private async Task ComputeAsync(IReadOnlyList<string> paths, List<int> todo, (string Path, long Size, long Ticks)?[] keys, float[] result,
        int done, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        int e = EmbeddingSize, bs = _options.BatchSize;
        int batches = (todo.Count + bs - 1) / bs;
        var imageOptions = BackboneImageOptions.For(Model.Spec);
        var channel = Channel.CreateBounded<PixelBatch>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = _options.DecodeThreads == 1,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int next = -1;
        async Task Produce()
        {
            var ml = new MLContext(seed: 0);
            while (true)
            {
                int b = Interlocked.Increment(ref next);
                if (b >= batches) return;
                cts.Token.ThrowIfCancellationRequested();
                int[] rows = todo.GetRange(b * bs, Math.Min(bs, todo.Count - b * bs)).ToArray();
                float[] pixels = ImagePreprocessing.ExtractFeatures(ml, rows.Select(r => paths[r]).ToList(), imageOptions, null, cts.Token);
                await channel.Writer.WriteAsync(new PixelBatch(rows, pixels), cts.Token).ConfigureAwait(false);
            }
        }
        var workers = Enumerable.Range(0, Math.Min(_options.DecodeThreads, batches)).Select(_ => Task.Run(async () =>
        {
            try
            {
                await Produce().ConfigureAwait(false);
            }
            catch
            {
                cts.Cancel(); // stop the other producers and the consumer
                throw;
            }
        })).ToArray();
        var producers = Task.WhenAll(workers).ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);

        var pendingKeys = new List<(string Path, long Size, long Ticks)>();
        var pendingRows = new List<float>();
        var output = new float[bs * e];
        try
        {
            await foreach (var batch in channel.Reader.ReadAllAsync(cts.Token).ConfigureAwait(false))
            {
                int n = batch.Rows.Length;
                RunBatch(batch.Pixels, n, output.AsSpan(0, n * e));
                for (int k = 0; k < n; k++)
                {
                    int row = batch.Rows[k];
                    output.AsSpan(k * e, e).CopyTo(result.AsSpan(row * e, e));
                    if (_cache is not null && keys[row] is { } key)
                    {
                        pendingKeys.Add(key);
                        pendingRows.AddRange(output.AsSpan(k * e, e));
                    }
                }
                done += n;
                progress?.Report(done);
                if (pendingKeys.Count >= _options.CacheFlushRows) Flush(pendingKeys, pendingRows);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A producer failed; its exception is rethrown below.
        }
        catch
        {
            cts.Cancel();
            await producers.ConfigureAwait(false); // let the producers stop before the exception leaves
            throw;
        }
        finally
        {
            if (pendingKeys.Count > 0) Flush(pendingKeys, pendingRows);
        }
        await producers.ConfigureAwait(false);
        var failed = workers.FirstOrDefault(w => w.IsFaulted);
        if (failed is not null)
        {
            var ex = failed.Exception!.InnerException!;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw();
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void Flush(List<(string Path, long Size, long Ticks)> keys, List<float> rows)
    {
        _cache!.Add(keys, rows.ToArray());
        keys.Clear();
        rows.Clear();
    }

    private void RunBatch(ReadOnlyMemory<float> pixels, int n, Span<float> destination)
    {
        if (n == 0) return;
        // ONNX Runtime reads the input without writing to it; the cast only satisfies the Memory<T> signature.
        var memory = System.Runtime.InteropServices.MemoryMarshal.AsMemory(pixels);
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, [n, Model.PixelCount]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [Model.InputName], [input], [Model.OutputName]);
        var info = outputs[0].GetTensorTypeAndShape();
        var data = outputs[0].GetTensorDataAsSpan<float>();
        if (info.Shape.Length != 2 || info.Shape[0] != n || info.Shape[1] != EmbeddingSize)
        {
            throw new InvalidOperationException(
                $"{Model.Spec.Name}: the model returned shape [{string.Join(",", info.Shape)}] for {n} images; EmbeddingSize is {EmbeddingSize}.");
        }
        data.CopyTo(destination);
    }

    private static (InferenceSession Session, string Provider, string? Fallback) OpenSession(CompiledBackbone model, BatchedFeaturizerOptions o)
    {
        byte[] bytes = model.ToArray();
        string? fallback = null;
        if (o.UseCuda)
        {
            SessionOptions? cuda = null;
            try
            {
                cuda = CreateOptions(o);
                cuda.AppendExecutionProvider_CUDA(o.CudaDeviceId);
                var session = new InferenceSession(bytes, cuda);
                return (session, "CUDA", null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                fallback = $"The CUDA execution provider could not be used ({ex.GetType().Name}: {ex.Message.Trim()}); running on the CPU instead. "
                    + "The CPU package Microsoft.ML.OnnxRuntime has no CUDA provider: reference Microsoft.ML.OnnxRuntime.Gpu instead "
                    + "(with a matching CUDA and cuDNN installed) to run on the GPU.";
                o.Log?.Invoke(fallback);
            }
            finally
            {
                cuda?.Dispose();
            }
        }
        using var cpu = CreateOptions(o);
        return (new InferenceSession(bytes, cpu), "CPU", fallback);
    }

    private static SessionOptions CreateOptions(BatchedFeaturizerOptions o) => new()
    {
        IntraOpNumThreads = o.IntraOpThreads,
        InterOpNumThreads = o.InterOpThreads,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}
