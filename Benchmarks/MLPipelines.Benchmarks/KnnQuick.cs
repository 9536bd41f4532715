using System.Diagnostics;
using System.Globalization;
using MLPipelines.IO;
using MLPipelines.Knn;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>knn-quick [cars|large|all] [--reps N] [--k K] [--threads T] [--block B] [--naive] [--npy DIR]</c>: Stopwatch timings of
/// <see cref="KnnIndex.Predict"/> (Euclidean, uniform votes) on the synthetic workloads; prints queries/s and the
/// GFLOP/s of the distance products (2·M·N·D). <c>--naive</c> also times the scalar per-pair baseline (cars only).
/// <c>--npy DIR</c> writes references, labels, queries and our predictions/neighbours as .npy under DIR/&lt;name&gt;/
/// for <c>Benchmarks/python/knn_sklearn.py</c>.
/// </summary>
internal static class KnnQuick
{
    public static int Run(string[] args)
    {
        string which = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? args[1] : "cars";
        int reps = Option(args, "--reps", 5);
        int k = Option(args, "--k", 5);
        int threads = Option(args, "--threads", Environment.ProcessorCount);
        KnnIndex.QueryBlock = Option(args, "--block", KnnIndex.QueryBlock);
        string? npy = args.SkipWhile(a => a != "--npy").Skip(1).FirstOrDefault();
        var workloads = which switch
        {
            "cars" => new[] { KnnWorkload.Cars() },
            "large" => new[] { KnnWorkload.Large() },
            _ => new[] { KnnWorkload.Cars(), KnnWorkload.Large() },
        };
        Console.WriteLine($"k={k}, Euclidean, uniform; threads {threads}; query block {KnnIndex.QueryBlock}; GEMM path {MLPipelines.Mlp.Kernels.Gemm.ActivePath}; {Environment.ProcessorCount} cores");
        foreach (var w in workloads)
        {
            var sw = Stopwatch.StartNew();
            var index = new KnnIndex(w.References, KnnWorkload.Dimension, w.Labels) { MaxDegreeOfParallelism = threads };
            Console.WriteLine($"{w.Name}: N={w.ReferenceCount:N0} x D={KnnWorkload.Dimension}, M={w.QueryCount:N0} queries; index build {sw.Elapsed.TotalMilliseconds:F0} ms");
            var prediction = index.Predict(w.Queries, k); // warm-up (JIT, tiering, page faults)
            var times = new List<double>();
            for (int r = 0; r < reps; r++)
            {
                TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
                sw.Restart();
                prediction = index.Predict(w.Queries, k);
                double s = sw.Elapsed.TotalSeconds;
                double cpu = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds;
                times.Add(s);
                Console.WriteLine($"  rep {r}: {s * 1000:F1} ms, {w.QueryCount / s:N0} queries/s, {w.Flops / s / 1e9:F1} GFLOP/s, CPU/wall {cpu / s:F2}, {w.Flops / cpu / 1e9:F1} GFLOP per CPU-second");
            }
            times.Sort();
            double best = times[0], median = times[times.Count / 2];
            Console.WriteLine($"  engine: best {best * 1000:F1} ms ({w.QueryCount / best:N0} q/s, {w.Flops / best / 1e9:F1} GFLOP/s); median {median * 1000:F1} ms ({w.QueryCount / median:N0} q/s, {w.Flops / median / 1e9:F1} GFLOP/s)");

            // Retrieval latency: one query per call (a single query block; the references are split over the threads).
            int singles = Math.Min(w.QueryCount, 50);
            index.Search(w.Queries.AsSpan(0, KnnWorkload.Dimension), k);
            sw.Restart();
            for (int q = 0; q < singles; q++)
                index.Search(w.Queries.AsSpan(q * KnnWorkload.Dimension, KnnWorkload.Dimension), k);
            Console.WriteLine($"  one query per call: {sw.Elapsed.TotalMilliseconds * 1000 / singles:F0} µs per query ({singles} calls)");

            if (args.Contains("--naive") && w.Name == "cars")
            {
                sw.Restart();
                var naive = NaiveKnn.Predict(w.References, w.Labels, w.Queries, KnnWorkload.Dimension, k, KnnWorkload.Classes);
                double s = sw.Elapsed.TotalSeconds;
                int same = naive.Zip(prediction.Labels, (a, b) => a == b ? 1 : 0).Sum();
                Console.WriteLine($"  naive (1 thread, scalar): {s * 1000:F0} ms ({w.QueryCount / s:N0} q/s, {w.Flops / s / 1e9:F2} GFLOP/s); same prediction {same}/{w.QueryCount}");
            }

            if (npy is not null)
            {
                string dir = Path.Combine(npy, w.Name);
                var found = index.Search(w.Queries, k);
                Npy.Write(Path.Combine(dir, "references.npy"), w.References, w.ReferenceCount, KnnWorkload.Dimension);
                Npy.Write(Path.Combine(dir, "labels.npy"), NpyArray.FromInt32(w.Labels, w.ReferenceCount));
                Npy.Write(Path.Combine(dir, "queries.npy"), w.Queries, w.QueryCount, KnnWorkload.Dimension);
                Npy.Write(Path.Combine(dir, "predictions.npy"), NpyArray.FromInt32(prediction.Labels, w.QueryCount));
                Npy.Write(Path.Combine(dir, "neighbors.npy"), NpyArray.FromInt32(found.Indices, w.QueryCount, k));
                File.WriteAllText(Path.Combine(dir, "ours.txt"),
                    string.Create(CultureInfo.InvariantCulture, $"k={k} best_s={best} median_s={median} threads={threads}\n"));
                Console.WriteLine($"  wrote {dir}");
            }
        }
        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}
