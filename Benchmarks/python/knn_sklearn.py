#!/usr/bin/env python3
"""Times scikit-learn's brute-force KNN on the vectors written by `knn-quick --npy DIR` and checks its
predictions (and neighbour lists) against MLPipelines' KnnIndex.

    dotnet run -c Release --project Benchmarks/MLPipelines.Benchmarks -- knn-quick all --npy /tmp/knn-bench
    /usr/bin/python3 Benchmarks/python/knn_sklearn.py /tmp/knn-bench/cars [--reps 3]

The generated vectors live outside the repository (never commit them).
"""
import argparse
import os
import re
import statistics
import time

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_info


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", help="a folder written by knn-quick --npy (references.npy, labels.npy, ...)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    d = args.folder
    refs = np.load(os.path.join(d, "references.npy"))
    labels = np.load(os.path.join(d, "labels.npy"))
    queries = np.load(os.path.join(d, "queries.npy"))
    ours_pred = np.load(os.path.join(d, "predictions.npy"))
    ours_nn = np.load(os.path.join(d, "neighbors.npy"))
    with open(os.path.join(d, "ours.txt")) as f:
        ours = dict(re.findall(r"(\w+)=(\S+)", f.read()))
    k = int(ours["k"])
    m, n, dim = queries.shape[0], refs.shape[0], refs.shape[1]
    flops = 2.0 * m * n * dim
    pools = ", ".join(f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info())
    print(f"sklearn {sklearn.__version__}, numpy {np.__version__} ({pools}); {refs.dtype} N={n} D={dim} M={m} k={k}")

    clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric="euclidean", weights="uniform")
    clf.fit(refs, labels)
    pred = clf.predict(queries[:64])  # warm-up
    times = []
    for r in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        pred = clf.predict(queries)
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        times.append(s)
        print(f"  rep {r}: {s * 1000:.1f} ms, {m / s:,.0f} queries/s, {flops / s / 1e9:.1f} GFLOP/s, "
              f"CPU/wall {cpu / s:.2f}, {flops / cpu / 1e9:.1f} GFLOP per CPU-second")
    best, median = min(times), statistics.median(times)
    print(f"  sklearn predict: best {best * 1000:.1f} ms ({m / best:,.0f} q/s, {flops / best / 1e9:.1f} GFLOP/s); "
          f"median {median * 1000:.1f} ms ({m / median:,.0f} q/s)")

    nn = clf.kneighbors(queries, return_distance=False)
    same_pred = int((pred == ours_pred).sum())
    same_sets = int(sum(set(a) == set(b) for a, b in zip(nn, ours_nn)))
    same_order = int((nn == ours_nn).all(axis=1).sum())
    print(f"  equal predictions: {same_pred}/{m}; equal neighbour sets: {same_sets}/{m}; equal neighbour order: {same_order}/{m}")
    ours_best, ours_median = float(ours["best_s"]), float(ours["median_s"])
    print(f"  MLPipelines KnnIndex: best {ours_best * 1000:.1f} ms, median {ours_median * 1000:.1f} ms "
          f"({ours['threads']} threads) -> speed-up vs sklearn: best/best {best / ours_best:.1f}x, median/median {median / ours_median:.1f}x")
    return 0 if same_pred == m else 1


if __name__ == "__main__":
    raise SystemExit(main())
