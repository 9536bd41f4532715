using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using MLPipelines.Mlp.Kernels;

namespace MLPipelines.Mlp;

/// <summary>Trains a multi-layer perceptron with mini-batch gradient descent, in pure C#.</summary>
public sealed class MlpEngine
{
    private readonly MlpArchitecture _architecture;
    private readonly MlpTrainingSettings _settings;

    /// <summary>Initializes a new instance of the <see cref="MlpEngine"/> class.</summary>
    /// <param name="a">The network shape.</param>
    /// <param name="s">The training settings.</param>
    /// <exception cref="ArgumentException">The architecture or the settings are invalid.</exception>
    public MlpEngine(MlpArchitecture a, MlpTrainingSettings s)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(s);
        a.Validate();
        s.Validate();
        _architecture = a;
        _settings = s;
    }

    /// <summary>Trains a network. Deterministic: the same data and settings (seed included) give bitwise-identical weights.</summary>
    /// <param name="train">The training set.</param>
    /// <param name="validation">An optional validation set, evaluated after every epoch (needed for early stopping).</param>
    /// <param name="progress">Receives one record per epoch.</param>
    /// <param name="cancellationToken">Cancels training (checked every mini-batch).</param>
    /// <returns>The network, its history and throughput.</returns>
    /// <exception cref="ArgumentException">The data do not fit the architecture, or early stopping lacks a validation set.</exception>
    public MlpTrainingResult Train(MlpDataset train, MlpDataset? validation = null, IProgress<EpochRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        MlpArchitecture arch = _architecture;
        MlpTrainingSettings s = _settings;
        arch.Validate();
        s.Validate();
        CheckData(train, nameof(train));
        if (validation is not null)
        {
            CheckData(validation, nameof(validation));
        }

        if (s.EarlyStoppingPatience > 0 && (validation is null || validation.Count == 0))
        {
            throw new ArgumentException($"{nameof(MlpTrainingSettings.EarlyStoppingPatience)} needs a non-empty validation set.", nameof(validation));
        }

        var total = Stopwatch.StartNew();
        var rng = new Xoshiro256(s.Seed);
        DenseLayer[] layers = InitialLayers(arch, rng);
        int n = train.Count;
        int d = arch.InputSize;
        int batch = Math.Max(1, Math.Min(s.BatchSize, n));
        var ws = new MlpWorkspace(arch, batch, s.Dropout > 0);
        var optimizer = new Optimizer(s, layers);
        bool fusedSgd = s.Optimizer == OptimizerKind.Sgd;

        int[] order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        float[] xb = new float[batch * d];
        IBatchAugmenter? augmenter = s.Augmenter;
        Func<double>? nextRandom = augmenter is null ? null : rng.NextDouble;
        int[] yb = new int[batch];
        DenseLayer[]? best = s.EarlyStoppingPatience > 0 ? [.. layers.Select(l => l.Clone())] : null;
        double bestLoss = double.PositiveInfinity;
        int bestEpoch = 0;
        int bestValidationEpoch = 0;
        int wait = 0;
        bool stoppedEarly = false;
        var records = new List<EpochRecord>(s.Epochs);
        long samples = 0;
        long trainTicks = 0;
        float[] features = train.Features;
        int[] labels = train.Labels;

        for (int epoch = 0; epoch < s.Epochs; epoch++)
        {
            long epochStart = Stopwatch.GetTimestamp();
            double lr = s.LearningRateAt(epoch);
            if (s.Shuffle)
            {
                rng.Shuffle(order);
            }

            double lossSum = 0;
            long correct = 0;
            for (int start = 0; start < n; start += batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ReadOnlySpan<int> nextRows;
                int rows = Math.Min(batch, n - start);
                ReadOnlySpan<float> x;
                ReadOnlySpan<int> y;
                if (s.Shuffle || augmenter is not null)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        int src = s.Shuffle ? order[start + r] : start + r;
                        features.AsSpan(src * d, d).CopyTo(xb.AsSpan(r * d, d));
                        yb[r] = labels[src];
                    }

                    augmenter?.Augment(xb.AsSpan(0, rows * d), rows, d, nextRandom!);
                    x = xb.AsSpan(0, rows * d);
                    y = yb.AsSpan(0, rows);
                    int next = start + batch;
                    nextRows = s.Shuffle && next < n ? order.AsSpan(next, Math.Min(batch, n - next)) : default;
                }
                else
                {
                    nextRows = default;
                    x = features.AsSpan(start * d, rows * d);
                    y = labels.AsSpan(start, rows);
                }

                // The next mini-batch's rows are fetched in three slices, each overlapping a compute phase,
                // so the random-row reads from memory hide behind the arithmetic instead of stalling the copy.
                int third = (nextRows.Length + 2) / 3;
                PrefetchRows(features, nextRows[..Math.Min(third, nextRows.Length)], d);
                ws.Forward(layers, x, rows, s.Dropout, rng);
                PrefetchRows(features, nextRows.Slice(Math.Min(third, nextRows.Length), Math.Min(third, Math.Max(0, nextRows.Length - third))), d);
                lossSum += ws.OutputLossAndDelta(y, rows, 1f / rows, out int ok, s.LabelSmoothing);
                PrefetchRows(features, nextRows[Math.Min(2 * third, nextRows.Length)..], d);
                correct += ok;
                if (fusedSgd)
                {
                    ws.Backward(layers, x, rows, (float)lr, (float)s.L2);
                }
                else
                {
                    ws.Backward(layers, x, rows, float.NaN, (float)s.L2);
                    optimizer.Step(layers, ws, (float)lr);
                }
            }

            samples += n;
            long trainedAt = Stopwatch.GetTimestamp();
            trainTicks += trainedAt - epochStart;

            double? valLoss = null, valAcc = null;
            if (validation is not null && validation.Count > 0)
            {
                (double vl, double va) = Evaluate(ws, layers, validation);
                valLoss = vl;
                valAcc = va;
            }

            double epochTrainSeconds = Stopwatch.GetElapsedTime(epochStart, trainedAt).TotalSeconds;
            var record = new EpochRecord(epoch + 1, lossSum / n, (double)correct / n, valLoss, valAcc, lr, Stopwatch.GetElapsedTime(epochStart).TotalSeconds,
                epochTrainSeconds > 0 ? n / epochTrainSeconds : 0);
            DivergenceGuard.Check(epoch + 1, record.TrainLoss, lr);
            records.Add(record);
            progress?.Report(record);
            bestEpoch = epoch + 1;
            if (best is not null)
            {
                if (valLoss!.Value < bestLoss)
                {
                    bestLoss = valLoss.Value;
                    bestValidationEpoch = epoch + 1;
                    wait = 0;
                    for (int l = 0; l < layers.Length; l++)
                    {
                        layers[l].Weights.CopyTo(best[l].Weights, 0);
                        layers[l].Bias.CopyTo(best[l].Bias, 0);
                    }
                }
                else if (++wait >= s.EarlyStoppingPatience)
                {
                    stoppedEarly = epoch + 1 < s.Epochs;
                    break;
                }
            }
        }

        if (best is not null)
        {
            layers = best;
            bestEpoch = bestValidationEpoch; // 0 only if no epoch produced a finite validation loss (initial weights returned)
        }

        double trainSeconds = total.Elapsed.TotalSeconds;
        double passSeconds = trainTicks / (double)Stopwatch.Frequency;
        return new MlpTrainingResult(
            MlpNetwork.Create(arch, layers),
            new TrainingHistory(records, bestEpoch, stoppedEarly),
            trainSeconds,
            passSeconds > 0 ? samples / passSeconds : 0);
    }

    /// <summary>
    /// Mean data loss plus λ/2 · Σ w² of a batch, and its gradients (mean over the rows, plus λ w for weights), without dropout.
    /// For tests and tools; the gradient arrays must have the layers' shapes.
    /// </summary>
    internal static double ComputeLossAndGradients(MlpNetwork network, ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int count, double l2, float[][] weightGradients, float[][] biasGradients)
    {
        DenseLayer[] layers = network.LayerArray;
        var ws = new MlpWorkspace(network.Architecture, count, false);
        ws.Forward(layers, features[..(count * network.Architecture.InputSize)], count, 0, null);
        double loss = ws.OutputLossAndDelta(labels, count, 1f / count, out _) / count;
        ws.Backward(layers, features, count, float.NaN, (float)l2);
        double penalty = 0;
        for (int l = 0; l < layers.Length; l++)
        {
            ws.WeightGradients[l].AsSpan(0, weightGradients[l].Length).CopyTo(weightGradients[l]);
            ws.BiasGradients[l].AsSpan(0, biasGradients[l].Length).CopyTo(biasGradients[l]);
            foreach (float w in layers[l].Weights)
            {
                penalty += (double)w * w;
            }
        }

        return loss + (0.5 * l2 * penalty);
    }

    /// <summary>Mean loss and accuracy of a network on a data set (no dropout).</summary>
    internal static (double Loss, double Accuracy) Evaluate(MlpNetwork network, MlpDataset data)
    {
        var ws = new MlpWorkspace(network.Architecture, Math.Max(1, Math.Min(256, data.Count)), false);
        return Evaluate(ws, network.LayerArray, data);
    }

    private static (double Loss, double Accuracy) Evaluate(MlpWorkspace ws, DenseLayer[] layers, MlpDataset data)
    {
        int d = data.Dimension;
        double loss = 0;
        long correct = 0;
        for (int start = 0; start < data.Count; start += ws.MaxRows)
        {
            int rows = Math.Min(ws.MaxRows, data.Count - start);
            ws.Forward(layers, data.Features.AsSpan(start * d, rows * d), rows, 0, null);
            loss += ws.OutputLoss(data.Labels.AsSpan(start, rows), rows, out int ok);
            correct += ok;
        }

        return (loss / data.Count, (double)correct / data.Count);
    }

    /// <summary>Asks the cache to fetch the next mini-batch's rows while this one is computed (x86 only; a no-op elsewhere).</summary>
    private static unsafe void PrefetchRows(float[] features, ReadOnlySpan<int> rows, int d)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            return;
        }

        fixed (float* f = features)
        {
            foreach (int row in rows)
            {
                byte* start = (byte*)(f + ((long)row * d));
                byte* end = (byte*)(f + ((long)(row + 1) * d));
                for (byte* p = start; p < end; p += 64)
                {
                    System.Runtime.Intrinsics.X86.Sse.Prefetch1(p);
                }
            }
        }
    }

    private void CheckData(MlpDataset data, string name)
    {
        if (data.Dimension != _architecture.InputSize)
        {
            throw new ArgumentException($"The {name} set has dimension {data.Dimension} but the network expects {_architecture.InputSize}.", name);
        }

        if (name == "train" && data.Count == 0)
        {
            throw new ArgumentException("The training set is empty.", name);
        }

        int classes = _architecture.LabelClassCount;
        for (int r = 0; r < data.Count; r++)
        {
            if (data.Labels[r] >= classes)
            {
                throw new ArgumentException($"Row {r} of the {name} set has label {data.Labels[r]}, outside [0, {classes - 1}].", name);
            }
        }
    }

    /// <summary>Xavier/Glorot uniform for sigmoid and tanh, He normal for ReLU; the output layer uses Xavier; biases 0.</summary>
    internal static DenseLayer[] InitialLayers(MlpArchitecture arch, Xoshiro256 rng)
    {
        int[] sizes = arch.LayerSizes();
        var layers = new DenseLayer[sizes.Length - 1];
        for (int l = 0; l < layers.Length; l++)
        {
            int fanIn = sizes[l], fanOut = sizes[l + 1];
            var layer = new DenseLayer(fanIn, fanOut);
            bool he = arch.HiddenActivation == Activation.Relu && l < layers.Length - 1;
            float[] w = layer.Weights;
            if (he)
            {
                double std = Math.Sqrt(2.0 / fanIn);
                for (int i = 0; i < w.Length; i++)
                {
                    w[i] = (float)(rng.NextGaussian() * std);
                }
            }
            else
            {
                double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
                for (int i = 0; i < w.Length; i++)
                {
                    w[i] = (float)(((2 * rng.NextDouble()) - 1) * limit);
                }
            }

            layers[l] = layer;
        }

        return layers;
    }

    /// <summary>Momentum and Adam state, allocated once.</summary>
    private sealed class Optimizer
    {
        private readonly MlpTrainingSettings _s;
        private readonly float[][] _m = [];
        private readonly float[][] _v = [];
        private long _t;

        public Optimizer(MlpTrainingSettings s, DenseLayer[] layers)
        {
            _s = s;
            if (s.Optimizer == OptimizerKind.Sgd)
            {
                return;
            }

            _m = new float[2 * layers.Length][];
            _v = s.Optimizer == OptimizerKind.Adam ? new float[2 * layers.Length][] : [];
            for (int l = 0; l < layers.Length; l++)
            {
                _m[2 * l] = new float[layers[l].Weights.Length];
                _m[(2 * l) + 1] = new float[layers[l].Bias.Length];
                if (_v.Length > 0)
                {
                    _v[2 * l] = new float[layers[l].Weights.Length];
                    _v[(2 * l) + 1] = new float[layers[l].Bias.Length];
                }
            }
        }

        public void Step(DenseLayer[] layers, MlpWorkspace ws, float lr)
        {
            _t++;
            for (int l = 0; l < layers.Length; l++)
            {
                Update(layers[l].Weights, ws.WeightGradients[l].AsSpan(0, layers[l].Weights.Length), 2 * l, lr);
                Update(layers[l].Bias, ws.BiasGradients[l].AsSpan(0, layers[l].Bias.Length), (2 * l) + 1, lr);
            }
        }

        private void Update(Span<float> w, Span<float> g, int slot, float lr)
        {
            if (_s.Optimizer == OptimizerKind.Momentum)
            {
                float mu = (float)_s.Momentum;
                Span<float> v = _m[slot];
                TensorPrimitives.MultiplyAdd(v, mu, g, v); // v = μ v + g
                if (_s.Nesterov)
                {
                    TensorPrimitives.MultiplyAdd(v, mu, g, g); // g + μ v
                    TensorPrimitives.MultiplyAdd(g, -lr, w, w);
                }
                else
                {
                    TensorPrimitives.MultiplyAdd(v, -lr, w, w);
                }

                return;
            }

            // Adam, with the bias corrections folded into the step size and epsilon.
            double bc1 = 1 - Math.Pow(_s.Beta1, _t);
            double bc2 = 1 - Math.Pow(_s.Beta2, _t);
            float step = (float)(lr * Math.Sqrt(bc2) / bc1);
            float eps = (float)(_s.Epsilon * Math.Sqrt(bc2));
            float b1 = (float)_s.Beta1, b2 = (float)_s.Beta2;
            AdamUpdate(w, g, _m[slot], _v[slot], b1, b2, step, eps);
        }

        private static void AdamUpdate(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float b1, float b2, float step, float eps)
        {
            int i = 0;
            int width = Vector<float>.Count;
            var vb1 = new Vector<float>(b1);
            var vc1 = new Vector<float>(1 - b1);
            var vb2 = new Vector<float>(b2);
            var vc2 = new Vector<float>(1 - b2);
            var vstep = new Vector<float>(step);
            var veps = new Vector<float>(eps);
            for (; i + width <= w.Length; i += width)
            {
                var gv = new Vector<float>(g[i..]);
                var mv = (vb1 * new Vector<float>(m[i..])) + (vc1 * gv);
                var vv = (vb2 * new Vector<float>(v[i..])) + (vc2 * gv * gv);
                mv.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                (new Vector<float>(w[i..]) - (vstep * mv / (Vector.SquareRoot(vv) + veps))).CopyTo(w[i..]);
            }

            for (; i < w.Length; i++)
            {
                float mv = (b1 * m[i]) + ((1 - b1) * g[i]);
                float vv = (b2 * v[i]) + ((1 - b2) * g[i] * g[i]);
                m[i] = mv;
                v[i] = vv;
                w[i] -= step * mv / (MathF.Sqrt(vv) + eps);
            }
        }
    }
}
