using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;
using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Knn;

/// <summary>
/// Exact k-nearest-neighbour search and voting over a fixed set of float reference vectors with class labels
/// (and optional source ids, e.g. image paths).
/// </summary>
/// <remarks>
/// <para>
/// Distances of a block of queries to a panel of 64 references come from one matrix product
/// (<c>‖r‖² − 2 q·r</c> for Euclidean, <c>1 − q·r</c> for cosine on unit vectors; <c>‖q‖²</c> is added only to
/// the k winners), then a streaming top-k keeps each query's k best in a sorted list of k entries. Query blocks
/// are spread over threads (a single block, e.g. one retrieval query, is split over ranges of references instead);
/// all buffers are allocated once per call and per thread, never per query.
/// </para>
/// <para>
/// Ties are deterministic: candidates are visited in reference order and only a strictly smaller distance
/// displaces an entry, so equal distances keep the smaller reference index first; equal votes go to the smaller
/// class index. References are stored transposed in 64-column panels (unit-normalised for cosine), so the index
/// holds one copy of the data.
/// </para>
/// </remarks>
public sealed class KnnIndex
{
    /// <summary>ε of <see cref="KnnWeighting.Distance"/>: a neighbour at distance d votes 1 / (d + ε).</summary>
    public const float WeightEpsilon = 1e-6f;

    /// <summary>Smallest norm a vector is divided by when normalised for the cosine metric (zero vectors stay zero).</summary>
    internal const float MinNorm = 1e-30f;

    /// <summary>References per packed panel (the GEMM tile width with AVX-512).</summary>
    internal const int PanelWidth = 64;

    /// <summary>Gets or sets the queries per block (benchmarks tune it): a block (64 × D floats) and its 64 × 64 distance tile stay in L2/L1.</summary>
    internal static int QueryBlock { get; set; } = 64;

    private readonly float[] _panels;
    private readonly float[] _bias;
    private readonly int[] _labels;
    private readonly string[]? _sources;
    private readonly string[] _classNames;
    private readonly int _panelCount;
    private int _maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>Builds the index (validates, normalises for cosine, and packs the references once).</summary>
    /// <param name="references">Reference vectors, row-major: <c>labels.Length</c> rows of <paramref name="dimension"/> values.</param>
    /// <param name="dimension">Length of every vector (D).</param>
    /// <param name="labels">Class index of every reference (0 .. class count − 1).</param>
    /// <param name="metric">Distance metric.</param>
    /// <param name="classNames">Class names by class index; null uses "0", "1", ... up to the largest label.</param>
    /// <param name="sourceIds">One source id per reference (e.g. image paths); null for none.</param>
    /// <exception cref="ArgumentException">Sizes disagree, a value is NaN or infinite (the message names the row), or a label is out of range.</exception>
    public KnnIndex(
        ReadOnlySpan<float> references,
        int dimension,
        ReadOnlySpan<int> labels,
        KnnMetric metric = KnnMetric.Euclidean,
        IReadOnlyList<string>? classNames = null,
        IReadOnlyList<string>? sourceIds = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (!Enum.IsDefined(metric))
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown KNN metric.");
        int n = labels.Length;
        if (n == 0)
            throw new ArgumentException("The index needs at least one reference vector.", nameof(labels));
        if ((long)n * dimension != references.Length)
            throw new ArgumentException(
                $"references has {references.Length} values but {n} labels × dimension {dimension} = {(long)n * dimension} are needed.", nameof(references));
        if ((long)((n + PanelWidth - 1) / PanelWidth) * PanelWidth * dimension > Array.MaxLength)
            throw new ArgumentException($"{n} references of dimension {dimension} exceed the largest .NET array.", nameof(references));
        if (sourceIds is not null && sourceIds.Count != n)
            throw new ArgumentException($"sourceIds has {sourceIds.Count} entries but there are {n} references.", nameof(sourceIds));

        int maxLabel = -1;
        for (int i = 0; i < n; i++)
        {
            if (labels[i] < 0)
                throw new ArgumentException($"Label of reference row {i} is {labels[i]}; labels must be class indices >= 0.", nameof(labels));
            maxLabel = Math.Max(maxLabel, labels[i]);
        }

        int classCount = classNames?.Count ?? maxLabel + 1;
        if (maxLabel >= classCount)
            throw new ArgumentException($"A reference has label {maxLabel} but only {classCount} class names were given.", nameof(labels));
        _classNames = classNames?.ToArray()
            ?? Enumerable.Range(0, classCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

        Dimension = dimension;
        Metric = metric;
        _labels = labels.ToArray();
        _sources = sourceIds?.ToArray();
        _panelCount = (n + PanelWidth - 1) / PanelWidth;
        _panels = new float[(long)_panelCount * PanelWidth * dimension];
        _bias = new float[_panelCount * PanelWidth];
        _bias.AsSpan(n).Fill(float.PositiveInfinity); // padding columns never win
        var scratch = new float[dimension];
        for (int r = 0; r < n; r++)
        {
            ReadOnlySpan<float> row = references.Slice(r * dimension, dimension);
            float squared = SquaredNorm(row);
            if (!float.IsFinite(squared))
                throw new ArgumentException(NotFiniteMessage("reference", r, row), nameof(references));
            if (metric == KnnMetric.Cosine)
            {
                Normalise(row, scratch, squared);
                row = scratch;
                _bias[r] = 1f;
            }
            else
            {
                _bias[r] = squared;
            }

            int panel = r / PanelWidth, column = r % PanelWidth;
            Span<float> dst = _panels.AsSpan(panel * PanelWidth * dimension);
            for (int j = 0; j < dimension; j++)
                dst[(j * PanelWidth) + column] = row[j];
        }
    }

    /// <summary>Number of reference vectors (N).</summary>
    public int Count => _labels.Length;

    /// <summary>Length of every vector (D).</summary>
    public int Dimension { get; }

    /// <summary>Distance metric.</summary>
    public KnnMetric Metric { get; }

    /// <summary>Number of classes (the length of every vote-share row).</summary>
    public int ClassCount => _classNames.Length;

    /// <summary>Class names by class index.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>Class index of every reference.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Source id of every reference, or null when the index was built without them.</summary>
    public IReadOnlyList<string>? SourceIds => _sources;

    /// <summary>
    /// Gets or sets the most threads one call may use (query blocks are spread over them).
    /// The default value is <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(MaxDegreeOfParallelism));
            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>The per-reference constant the graph adds to the scaled dot products: ‖r‖² (Euclidean) or 1 (cosine); first <see cref="Count"/> entries.</summary>
    internal ReadOnlySpan<float> ReferenceBias => _bias.AsSpan(0, Count);

    /// <summary>Copies the stored reference vector <paramref name="index"/> (unit-normalised for cosine).</summary>
    /// <param name="index">Reference row.</param>
    /// <param name="destination">Receives <see cref="Dimension"/> values.</param>
    public void CopyReference(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        if (destination.Length < Dimension)
            throw new ArgumentException($"destination has {destination.Length} values; {Dimension} are needed.", nameof(destination));
        int panel = index / PanelWidth, column = index % PanelWidth;
        ReadOnlySpan<float> src = _panels.AsSpan(panel * PanelWidth * Dimension);
        for (int j = 0; j < Dimension; j++)
            destination[j] = src[(j * PanelWidth) + column];
    }

    /// <summary>All stored reference vectors, row-major <see cref="Count"/> × <see cref="Dimension"/> (unit-normalised for cosine).</summary>
    public float[] GetReferences()
    {
        var all = new float[(long)Count * Dimension];
        for (int r = 0; r < Count; r++)
            CopyReference(r, all.AsSpan(r * Dimension, Dimension));
        return all;
    }

    /// <summary>Finds the <paramref name="k"/> nearest references of every query.</summary>
    /// <param name="queries">Query vectors, row-major, a multiple of <see cref="Dimension"/> values.</param>
    /// <param name="k">Neighbours per query, 1 .. <see cref="Count"/>.</param>
    /// <returns>Indices and distances, nearest first.</returns>
    /// <exception cref="ArgumentException">A query value is NaN or infinite (the message names the row), or the length is not a multiple of D.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1 .. <see cref="Count"/>.</exception>
    public KnnSearchResult Search(ReadOnlySpan<float> queries, int k)
    {
        int m = QueryCount(queries, k);
        var indices = new int[(long)m * k];
        var distances = new float[(long)m * k];
        SearchCore(queries, m, k, indices, distances);
        return new KnnSearchResult(m, k, indices, distances);
    }

    /// <summary>Finds the <paramref name="k"/> nearest references of every query into caller-owned buffers.</summary>
    /// <param name="queries">Query vectors, row-major, a multiple of <see cref="Dimension"/> values.</param>
    /// <param name="k">Neighbours per query, 1 .. <see cref="Count"/>.</param>
    /// <param name="indices">Receives queries × k reference indices, nearest first.</param>
    /// <param name="distances">Receives the matching distances.</param>
    public void Search(ReadOnlySpan<float> queries, int k, Span<int> indices, Span<float> distances)
    {
        int m = QueryCount(queries, k);
        if (indices.Length < (long)m * k || distances.Length < (long)m * k)
            throw new ArgumentException($"indices and distances need {(long)m * k} entries ({m} queries × k = {k}).");
        SearchCore(queries, m, k, indices, distances);
    }

    /// <summary>Votes of the <paramref name="k"/> nearest references: shares per class and the winning class.</summary>
    /// <param name="queries">Query vectors, row-major, a multiple of <see cref="Dimension"/> values.</param>
    /// <param name="k">Neighbours per query, 1 .. <see cref="Count"/>.</param>
    /// <param name="weighting">How votes are weighted.</param>
    public KnnPrediction Predict(ReadOnlySpan<float> queries, int k, KnnWeighting weighting = KnnWeighting.Uniform)
    {
        if (!Enum.IsDefined(weighting))
            throw new ArgumentOutOfRangeException(nameof(weighting), weighting, "Unknown KNN weighting.");
        var found = Search(queries, k);
        int m = found.QueryCount, c = ClassCount;
        var shares = new float[(long)m * c];
        var winners = new int[m];
        for (int q = 0; q < m; q++)
        {
            Span<float> votes = shares.AsSpan(q * c, c);
            for (int r = 0; r < k; r++)
            {
                float w = weighting == KnnWeighting.Uniform ? 1f : 1f / (found.Distances[(q * k) + r] + WeightEpsilon);
                votes[_labels[found.Indices[(q * k) + r]]] += w;
            }

            float total = 0f;
            for (int j = 0; j < c; j++)
                total += votes[j];
            int best = 0;
            for (int j = 0; j < c; j++)
            {
                votes[j] /= total;
                if (votes[j] > votes[best])
                    best = j;
            }

            winners[q] = best;
        }

        return new KnnPrediction(m, c, shares, winners);
    }

    /// <summary>The <paramref name="k"/> nearest references of one query, with labels, distances and source ids.</summary>
    /// <param name="query">One vector of <see cref="Dimension"/> values.</param>
    /// <param name="k">Neighbours, 1 .. <see cref="Count"/>.</param>
    public IReadOnlyList<KnnNeighbor> Neighbors(ReadOnlySpan<float> query, int k)
    {
        if (query.Length != Dimension)
            throw new ArgumentException($"The query has {query.Length} values; the index has dimension {Dimension}.", nameof(query));
        return NeighborsBatch(query, k)[0];
    }

    /// <summary>The <paramref name="k"/> nearest references of each query, with labels, distances and source ids.</summary>
    /// <param name="queries">Query vectors, row-major, a multiple of <see cref="Dimension"/> values.</param>
    /// <param name="k">Neighbours per query, 1 .. <see cref="Count"/>.</param>
    public IReadOnlyList<IReadOnlyList<KnnNeighbor>> NeighborsBatch(ReadOnlySpan<float> queries, int k)
    {
        var found = Search(queries, k);
        var all = new IReadOnlyList<KnnNeighbor>[found.QueryCount];
        for (int q = 0; q < found.QueryCount; q++)
        {
            var list = new KnnNeighbor[k];
            for (int r = 0; r < k; r++)
            {
                int index = found.Indices[(q * k) + r];
                int label = _labels[index];
                list[r] = new KnnNeighbor(r, index, label, _classNames[label], found.Distances[(q * k) + r], _sources?[index]);
            }

            all[q] = list;
        }

        return all;
    }

    private int QueryCount(ReadOnlySpan<float> queries, int k)
    {
        if (k < 1 || k > Count)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and the number of references ({Count}), got k = {k}.");
        if (queries.Length % Dimension != 0)
            throw new ArgumentException($"queries has {queries.Length} values, not a multiple of the dimension {Dimension}.", nameof(queries));
        return queries.Length / Dimension;
    }

    private static float SquaredNorm(ReadOnlySpan<float> row) => TensorPrimitives.SumOfSquares(row);

    private static void Normalise(ReadOnlySpan<float> row, Span<float> destination, float squared)
        => TensorPrimitives.Divide(row, MathF.Max(MathF.Sqrt(squared), MinNorm), destination);

    private static string NotFiniteMessage(string what, int row, ReadOnlySpan<float> values)
    {
        for (int j = 0; j < values.Length; j++)
        {
            if (!float.IsFinite(values[j]))
                return $"The {what} row {row}, slot {j}, has value {values[j].ToString(CultureInfo.InvariantCulture)}, which is not finite (NaN or infinity).";
        }

        return $"The squared norm of {what} row {row} overflows float; scale the vectors down.";
    }

    private unsafe void SearchCore(ReadOnlySpan<float> queries, int m, int k, Span<int> indices, Span<float> distances)
    {
        if (m == 0)
            return;
        int d = Dimension;

        // Validation and query norms in one pass (a NaN or infinity makes the squared norm non-finite).
        var squaredNorms = new float[m];
        for (int q = 0; q < m; q++)
        {
            ReadOnlySpan<float> row = queries.Slice(q * d, d);
            squaredNorms[q] = SquaredNorm(row);
            if (!float.IsFinite(squaredNorms[q]))
                throw new ArgumentException(NotFiniteMessage("query", q, row), nameof(queries));
        }

        int queryBlock = QueryBlock;
        int blocks = (m + queryBlock - 1) / queryBlock;
        int workers = Math.Min(_maxDegreeOfParallelism, blocks);

        // Fewer query blocks than threads (e.g. one retrieval query against a large index): split the references
        // instead, at least two panels per part, and merge the parts' top-k lists in reference order.
        int parts = blocks == 1 ? Math.Min(_maxDegreeOfParallelism, _panelCount / 2) : 1;
        fixed (float* pq = queries)
        fixed (int* pi = indices)
        fixed (float* pd = distances)
        {
            var job = new SearchJob(this, (nint)pq, m, k, (nint)pi, (nint)pd, squaredNorms, blocks, queryBlock);
            if (parts > 1)
                job.WorkOnReferenceParts(parts);
            else if (workers == 1)
                job.Work();
            else
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => job.Work());

            if (job.Overflowed)
                throw new ArgumentException("Distances overflowed float; scale the vectors down.", nameof(queries));
        }
    }

    /// <summary>Per-thread buffers: the distance tile and each query's sorted top-k list.</summary>
    private sealed class Workspace(int queryBlock, int k)
    {
        public float[] Tile { get; } = new float[queryBlock * PanelWidth];

        public float[] TopDistance { get; } = new float[queryBlock * k];

        public int[] TopIndex { get; } = new int[queryBlock * k];

        public int[] Counts { get; } = new int[queryBlock];

        public float[] Thresholds { get; } = new float[queryBlock];
    }

    /// <summary>
    /// One search call: query blocks are claimed by the workers through a shared counter
    /// (<see cref="Work"/>), or one block is searched by several workers over ranges of references
    /// (<see cref="WorkOnReferenceParts"/>).
    /// </summary>
    private sealed unsafe class SearchJob(KnnIndex index, nint queries, int m, int k, nint indices, nint distances, float[] squaredNorms, int blocks, int QueryBlock)
    {
        private int _next = -1;

        public bool Overflowed { get; private set; }

        private bool Cosine => index.Metric == KnnMetric.Cosine;

        public void Work()
        {
            int d = index.Dimension;
            var normalised = Cosine ? new float[QueryBlock * d] : null;
            var space = new Workspace(QueryBlock, k);
            int block;
            while ((block = Interlocked.Increment(ref _next)) < blocks)
            {
                int q0 = block * QueryBlock;
                int mb = Math.Min(QueryBlock, m - q0);
                Scan(Rows(q0, mb, normalised), mb, 0, index._panelCount, space);
                Emit(q0, mb, space);
            }
        }

        public void WorkOnReferenceParts(int parts)
        {
            int d = index.Dimension;
            var normalised = Cosine ? new float[m * d] : null;
            var rows = Rows(0, m, normalised).ToArray(); // m <= one block: a small copy the workers can share
            var spaces = new Workspace[parts];
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
            {
                spaces[part] = new Workspace(m, k);
                long panels = index._panelCount;
                Scan(rows, m, (int)(panels * part / parts), (int)(panels * (part + 1) / parts), spaces[part]);
            });

            // Parts hold increasing reference ranges, so inserting them in part order keeps (score, index) order.
            var merged = spaces[0];
            fixed (float* td = merged.TopDistance)
            fixed (int* ti = merged.TopIndex)
            {
                for (int part = 1; part < parts; part++)
                {
                    var other = spaces[part];
                    for (int i = 0; i < m; i++)
                    {
                        for (int r = 0; r < other.Counts[i]; r++)
                        {
                            Insert(other.TopDistance[(i * k) + r], other.TopIndex[(i * k) + r], k, td + (i * k), ti + (i * k),
                                ref merged.Counts[i], ref merged.Thresholds[i]);
                        }
                    }
                }
            }

            Emit(0, m, merged);
        }

        /// <summary>Query rows q0 .. q0 + mb, unit-normalised into <paramref name="normalised"/> for cosine.</summary>
        private ReadOnlySpan<float> Rows(int q0, int mb, float[]? normalised)
        {
            int d = index.Dimension;
            var rows = new ReadOnlySpan<float>((float*)queries + ((long)q0 * d), mb * d);
            if (normalised is null)
                return rows;
            for (int i = 0; i < mb; i++)
                Normalise(rows.Slice(i * d, d), normalised.AsSpan(i * d, d), squaredNorms[q0 + i]);
            return normalised.AsSpan(0, mb * d);
        }

        /// <summary>Scores <paramref name="mb"/> query rows against panels [firstPanel, endPanel) into fresh top-k lists.</summary>
        private void Scan(ReadOnlySpan<float> rows, int mb, int firstPanel, int endPanel, Workspace space)
        {
            int d = index.Dimension;
            float alpha = Cosine ? -1f : -2f;
            space.Counts.AsSpan().Clear();
            space.Thresholds.AsSpan().Fill(float.PositiveInfinity);
            for (int p = firstPanel; p < endPanel; p++)
            {
                ReadOnlySpan<float> panel = index._panels.AsSpan(p * PanelWidth * d, PanelWidth * d);
                ReadOnlySpan<float> bias = index._bias.AsSpan(p * PanelWidth, PanelWidth);
                // Each worker already runs one product per core: serial, so the GEMM never hands half to its helper thread.
                Gemm.Multiply(false, false, mb, PanelWidth, d, alpha, rows, d, panel, PanelWidth, 0f, space.Tile, PanelWidth, bias, serial: true);
                fixed (float* t = space.Tile)
                fixed (float* td = space.TopDistance)
                fixed (int* ti = space.TopIndex)
                {
                    for (int i = 0; i < mb; i++)
                        Select(t + (i * PanelWidth), p * PanelWidth, k, td + (i * k), ti + (i * k), ref space.Counts[i], ref space.Thresholds[i]);
                }
            }
        }

        private void Emit(int q0, int mb, Workspace space)
        {
            bool cosine = Cosine;
            float[] topDistance = space.TopDistance;
            int[] topIndex = space.TopIndex;
            int[] counts = space.Counts;
            for (int i = 0; i < mb; i++)
            {
                if (counts[i] < k)
                {
                    Overflowed = true;
                    return;
                }

                float* outD = (float*)distances + ((long)(q0 + i) * k);
                int* outI = (int*)indices + ((long)(q0 + i) * k);
                float qn = squaredNorms[q0 + i];
                for (int r = 0; r < k; r++)
                {
                    float s = topDistance[(i * k) + r];
                    float dist = cosine ? MathF.Max(s, 0f) : MathF.Sqrt(MathF.Max(qn + s, 0f));
                    int j = topIndex[(i * k) + r];

                    // Clamping at 0 can make distances equal that were ranked by a tiny negative value; keep (distance, index) order.
                    int pos = r;
                    while (pos > 0 && (outD[pos - 1] > dist || (outD[pos - 1] == dist && outI[pos - 1] > j)))
                    {
                        outD[pos] = outD[pos - 1];
                        outI[pos] = outI[pos - 1];
                        pos--;
                    }

                    outD[pos] = dist;
                    outI[pos] = j;
                }
            }
        }

        /// <summary>Offers 64 candidate scores (columns <paramref name="first"/> ..) to one query's sorted top-k list.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Select(float* scores, int first, int k, float* topD, int* topI, ref int count, ref float threshold)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                for (int v = 0; v < PanelWidth; v += 16)
                {
                    ulong mask = Vector512.LessThan(Vector512.Load(scores + v), Vector512.Create(threshold)).ExtractMostSignificantBits();
                    while (mask != 0)
                    {
                        int bit = BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        Insert(scores[v + bit], first + v + bit, k, topD, topI, ref count, ref threshold);
                    }
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                for (int v = 0; v < PanelWidth; v += 8)
                {
                    uint mask = Vector256.LessThan(Vector256.Load(scores + v), Vector256.Create(threshold)).ExtractMostSignificantBits();
                    while (mask != 0)
                    {
                        int bit = BitOperations.TrailingZeroCount(mask);
                        mask &= mask - 1;
                        Insert(scores[v + bit], first + v + bit, k, topD, topI, ref count, ref threshold);
                    }
                }
            }
            else
            {
                for (int v = 0; v < PanelWidth; v++)
                    Insert(scores[v], first + v, k, topD, topI, ref count, ref threshold);
            }
        }

        /// <summary>Inserts (score, index) after every entry with a score &lt;= it; a full list only accepts a strictly smaller score.</summary>
        private static void Insert(float score, int index, int k, float* topD, int* topI, ref int count, ref float threshold)
        {
            if (!(score < threshold))
                return;
            int pos = count < k ? count++ : k - 1;
            while (pos > 0 && topD[pos - 1] > score)
            {
                topD[pos] = topD[pos - 1];
                topI[pos] = topI[pos - 1];
                pos--;
            }

            topD[pos] = score;
            topI[pos] = index;
            if (count == k)
                threshold = topD[k - 1];
        }
    }
}
