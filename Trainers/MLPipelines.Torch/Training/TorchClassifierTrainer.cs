using System.Diagnostics;
using MLPipelines.IO;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// Trains any classification module <c>Module&lt;Tensor, Tensor&gt;</c> that maps a batch ([B, D] vectors or
/// [B, C, H, W] images) to logits [B, K] with softmax cross-entropy. Binary tasks use K = 2 logits (class 0 =
/// false, class 1 = true), the course's 784-128-2 layout; P(true) = softmax(z)[1] = sigmoid(z1 - z0).
/// </summary>
/// <remarks>
/// <para>
/// The whole dataset lives on the device as one tensor; each batch is gathered with <c>index_select</c> from a
/// shuffled index tensor, inside its own <c>torch.NewDisposeScope()</c>. Training runs in <c>train()</c> mode,
/// validation in <c>eval()</c> mode under <c>torch.no_grad()</c>. A final batch of a single row joins the previous
/// batch (batch normalisation cannot train on one row), so every row trains every epoch; BatchSize 1 with batch
/// normalisation is refused. After every epoch <see cref="DivergenceGuard"/> stops a diverging run.
/// </para>
/// <para>
/// Determinism: <c>torch.random.manual_seed(Seed)</c> runs before the module factory, and every epoch reseeds
/// torch (dropout), the shuffling <see cref="Random"/> and the augmentation generator from (Seed, epoch). On the
/// CPU with the same thread count (<see cref="TorchTrainingSettings.Threads"/>), two runs give bit-identical weights
/// and a resumed run matches an uninterrupted one. Not covered: CUDA kernels that use atomics (e.g. the backward of
/// <c>grid_sample</c> or <c>index_select</c>) and a different libtorch build or thread count, which change the order
/// of floating-point sums.
/// </para>
/// </remarks>
public sealed class TorchClassifierTrainer
{
    private const string Magic = "MLPipelines.TorchCheckpoint";
    private const int FormatVersion = 1;
    private readonly Func<nn.Module<Tensor, Tensor>> _moduleFactory;

    /// <summary>Creates the trainer; the options are validated here (ArgumentException naming the option).</summary>
    /// <param name="moduleFactory">Creates the untrained module; called once per <see cref="Train"/>, after the seed is set.</param>
    /// <param name="options">Training options; null for the defaults. They are copied.</param>
    public TorchClassifierTrainer(Func<nn.Module<Tensor, Tensor>> moduleFactory, TorchTrainingSettings? options = null)
    {
        ArgumentNullException.ThrowIfNull(moduleFactory);
        _moduleFactory = moduleFactory;
        Options = (options ?? new TorchTrainingSettings()).Clone();
        Options.Validate();
    }

    /// <summary>The options (a copy of those given).</summary>
    public TorchTrainingSettings Options { get; }

    /// <summary>Trains a new module on <paramref name="train"/>, validating on <paramref name="validation"/> after every epoch.</summary>
    /// <param name="train">Training rows.</param>
    /// <param name="validation">Validation rows with the same layout, or null.</param>
    /// <param name="cancellationToken">Checked between batches; the last checkpoint stays usable for a resume.</param>
    /// <param name="classCount">When set, the module must return exactly this many logits (checked on the first batch); otherwise at least 2 and more than the largest label.</param>
    /// <returns>The trained module (CPU, eval mode) and the history.</returns>
    /// <exception cref="ArgumentException">The data do not fit the options or the module's output.</exception>
    /// <exception cref="OperationCanceledException">Cancellation was requested.</exception>
    public TorchTrainingResult Train(TorchDataset train, TorchDataset? validation = null, CancellationToken cancellationToken = default, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (classCount is < 2)
            throw new ArgumentException($"classCount must be at least 2, got {classCount}.", nameof(classCount));
        CheckData(train, validation);
        var o = Options;
        if (o.Threads > 0)
            torch.set_num_threads(o.Threads);
        var device = TorchDevice.Resolve(o.Device, o.Log);
        bool cuda = device.type == DeviceType.CUDA;

        SeedTorch(o.Seed, cuda);
        var network = _moduleFactory() ?? throw new InvalidOperationException("The module factory returned null.");
        var module = network;
        var best = new Dictionary<string, Tensor>();
        var toDispose = new List<IDisposable>();
        var total = Stopwatch.StartNew();
        double featureSeconds = 0;
        try
        {
            var backbone = network as TorchBackbone;
            if (o.Transfer is not null && backbone is null)
                throw new ArgumentException(
                    $"Transfer learning needs a TorchBackbone module (ResNet, DenseNet); the factory returned {network.GetType().Name}.", nameof(TorchTrainingSettings.Transfer));
            network.to(device);
            if (backbone is not null && o.Transfer is { Strategy: TransferStrategy.Frozen, CacheFrozenFeatures: true } && o.Augmentation.Count == 0 && o.Mixing is null)
            {
                // The frozen backbone is a fixed function of the image: compute every embedding once and train the head
                // on them (the same mathematics as running the backbone in every epoch, at the cost of one pass).
                var featureClock = Stopwatch.StartNew();
                (train, validation) = FeatureCache.Compute(backbone, train, validation, o.BatchSize, device, o.Log);
                featureSeconds = featureClock.Elapsed.TotalSeconds;
                module = new HeadOnly(backbone);
                toDispose.Add(module);
            }
            // Every parameter goes to the optimiser; frozen ones get no gradient and are skipped by its step.
            if (!module.parameters().Any())
                throw new ArgumentException("The module has no parameters to train.", nameof(train));
            CheckBatchSize(module, train.Count);
            var optimizer = CreateOptimizer(module, backbone);
            toDispose.Add(optimizer);
            TrainingShadow? shadow = null;
            if ((o.Precision != TorchPrecision.Float32 || o.ChannelsLast) && module is not HeadOnly)
            {
                shadow = TrainingShadow.Create(module, _moduleFactory, device, o.Precision == TorchPrecision.BFloat16Mixed, o.ChannelsLast);
                toDispose.Add(shadow);
            }
            var scheduler = CreateScheduler(optimizer);

            var xTrain = DeviceRows.Create(train, device);
            toDispose.Add(xTrain);
            DeviceRows? xVal = null;
            if (validation is not null)
            {
                xVal = DeviceRows.Create(validation, device);
                toDispose.Add(xVal);
            }

            var state = new LoopState();
            if (o.Resume && File.Exists(o.CheckpointPath))
            {
                LoadCheckpoint(o.CheckpointPath!, train, module, optimizer, scheduler, best, state);
                o.Log?.Report($"Resumed from '{o.CheckpointPath}' after epoch {state.Epoch}.");
            }
            int resumedAfter = state.Epoch;
            int maxLabel = train.Labels.Max();
            if (validation is not null)
                maxLabel = Math.Max(maxLabel, validation.Labels.Max());
            if (classCount is { } k && maxLabel >= k)
                throw new ArgumentException($"The data have label {maxLabel}, but classCount is {k}.", nameof(train));

            double trainPassSeconds = featureSeconds; // the one pass of a frozen backbone counts as training time
            long trainRows = 0;
            while (!state.Stopped && state.Epoch < o.Epochs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int epoch = state.Epoch + 1;
                var epochClock = Stopwatch.StartNew();
                double lr = optimizer.ParamGroups.First().LearningRate;
                if (o.Transfer is not null)
                    ApplyTransferStage(backbone!, epoch);
                var (loss, accuracy, rows, seconds) = TrainEpoch(module, shadow, optimizer, train, xTrain, epoch, maxLabel, classCount, device, cancellationToken);
                trainPassSeconds += seconds;
                trainRows += rows;
                DivergenceGuard.Check(epoch, loss, lr);

                double? valLoss = null, valAccuracy = null;
                if (xVal is not null)
                {
                    var (vl, va) = EvaluateRows(module, xVal, validation!, o.BatchSize);
                    valLoss = vl;
                    valAccuracy = va;
                }
                var report = new EpochRecord(epoch, loss, accuracy, valLoss, valAccuracy, lr, epochClock.Elapsed.TotalSeconds,
                    seconds > 0 ? rows / seconds : 0);
                state.History.Add(report);
                state.Epoch = epoch;

                if (valLoss is { } v)
                {
                    if (v < state.BestLoss)
                    {
                        state.BestLoss = v;
                        state.BestEpoch = epoch;
                        state.BadEpochs = 0;
                        if (o.EarlyStoppingPatience > 0)
                            Snapshot(module, best);
                    }
                    else
                    {
                        state.BadEpochs++;
                    }
                }
                StepScheduler(scheduler, valLoss ?? loss);
                if (o.EarlyStoppingPatience > 0 && state.BadEpochs >= o.EarlyStoppingPatience && epoch < o.Epochs)
                    state.Stopped = true;
                if (o.CheckpointPath is not null)
                    SaveCheckpoint(o.CheckpointPath, train, module, optimizer, best, state);
                o.Progress?.Report(report);
            }

            int bestEpoch = state.Epoch;
            if (o.EarlyStoppingPatience > 0 && best.Count > 0)
            {
                module.load_state_dict(best);
                bestEpoch = state.BestEpoch;
            }
            if (module is HeadOnly head)
                head.WriteBack();
            network.eval();
            if (cuda)
                network.to(CPU);
            var history = new TorchTrainingHistory(state.History.ToArray(), bestEpoch, state.Stopped, resumedAfter);
            return new TorchTrainingResult(network, history, total.Elapsed.TotalSeconds,
                trainPassSeconds > 0 ? trainRows / trainPassSeconds : 0, device.ToString());
        }
        catch
        {
            network.Dispose();
            throw;
        }
        finally
        {
            foreach (var d in toDispose)
                d.Dispose();
            foreach (var t in best.Values)
                t.Dispose();
        }
    }

    /// <summary>
    /// Mean cross-entropy and accuracy of <paramref name="module"/> on <paramref name="data"/> in eval mode (the
    /// module is left in eval mode), computed on the device the module's parameters are on.
    /// </summary>
    /// <param name="module">A classifier producing logits [B, K].</param>
    /// <param name="data">The rows to score.</param>
    /// <param name="batchSize">Rows per forward pass.</param>
    public static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> module, TorchDataset data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0)
            throw new ArgumentException($"batchSize must be positive, got {batchSize}.", nameof(batchSize));
        var device = module.parameters().FirstOrDefault()?.device ?? CPU;
        using var rows = DeviceRows.Create(data, device);
        return EvaluateRows(module, rows, data, batchSize);
    }

    private void ApplyTransferStage(TorchBackbone backbone, int epoch)
    {
        int stages = Options.Transfer!.TrainableStagesAt(epoch, backbone.Stages.Count);
        if (epoch > 1 && stages == backbone.TrainableStageCount)
            return;
        backbone.SetTrainableStages(stages);
        var names = backbone.Stages.Skip(backbone.Stages.Count - stages).Select(s => s.Name);
        Options.Log?.Report(FormattableString.Invariant(
            $"Epoch {epoch}: trainable = head{(stages > 0 ? " + " + string.Join(", ", names) : "")} ({backbone.TrainableParameterNames().Count} parameter tensors)."));
    }

    private void CheckData(TorchDataset train, TorchDataset? validation)
    {
        var o = Options;
        if (validation is not null)
        {
            if (validation.FeatureCount != train.FeatureCount)
                throw new ArgumentException($"Validation rows have {validation.FeatureCount} features, training rows {train.FeatureCount}.", nameof(validation));
            if (!(validation.ImageShape ?? []).SequenceEqual(train.ImageShape ?? []))
                throw new ArgumentException("Validation and training rows have different image shapes.", nameof(validation));
        }
        if (o.EarlyStoppingPatience > 0 && validation is null)
            throw new ArgumentException("EarlyStoppingPatience needs validation data.", nameof(TorchTrainingSettings.EarlyStoppingPatience));
        if (o.Mixing is not null && train.ImageShape is null)
            throw new ArgumentException("Mixing needs image rows (an image shape [C, H, W]).", nameof(TorchTrainingSettings.Mixing));
        if (o.Augmentation.Count > 0 && train.ImageShape is null)
            throw new ArgumentException("Augmentation needs image rows (an image shape [C, H, W]).", nameof(TorchTrainingSettings.Augmentation));
    }

    /// <summary>
    /// Batch normalisation cannot train on one row (its batch variance is zero): with BatchSize 1 and a BatchNorm layer
    /// training is refused; with a larger BatchSize whose last batch would hold one row, that row joins the previous
    /// batch (every row still trains every epoch), and the log says so.
    /// </summary>
    private void CheckBatchSize(nn.Module<Tensor, Tensor> module, int rows)
    {
        var o = Options;
        bool batchNorm = module.modules().Any(m => m.GetType().Name.StartsWith("BatchNorm", StringComparison.Ordinal));
        if (o.BatchSize == 1 && batchNorm && rows > 1)
            throw new ArgumentException(
                "BatchSize 1 cannot train this network: its batch normalisation layers need at least 2 rows per batch; use a BatchSize of 2 or more.",
                nameof(TorchTrainingSettings.BatchSize));
        if (o.BatchSize > 1 && rows > 1 && rows % o.BatchSize == 1)
            o.Log?.Report($"{rows} training rows with BatchSize {o.BatchSize}: the last batch would hold one row, so it joins the previous batch ({o.BatchSize + 1} rows).");
    }

    private (double Loss, double Accuracy, long Rows, double Seconds) TrainEpoch(
        nn.Module<Tensor, Tensor> module, TrainingShadow? shadow, optim.Optimizer optimizer, TorchDataset train, DeviceRows x,
        int epoch, int maxLabel, int? classCount, Device device, CancellationToken cancellationToken)
    {
        var o = Options;
        long epochSeed = EpochSeed(o.Seed, epoch);
        SeedTorch(epochSeed, device.type == DeviceType.CUDA);
        var shuffle = new Random((int)(epochSeed & 0x7fffffff));
        using var generator = new Generator((ulong)(epochSeed ^ 0x5DEECE66DL));
        int n = train.Count;
        var order = new long[n];
        for (int i = 0; i < n; i++)
            order[i] = i;
        shuffle.Shuffle(order);

        var net = shadow?.Module ?? module;
        shadow?.PullWeights(); // the trainable stages may have changed
        shadow?.PullBuffers();
        net.train();
        var clock = Stopwatch.StartNew();
        using var permutation = torch.tensor(order, device: device);
        using var lossSum = torch.zeros(1, ScalarType.Float64, device);
        using var correct = torch.zeros(1, ScalarType.Int64, device);
        long rows = 0;
        for (int start = 0, count; start < n; start += count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            count = Math.Min(o.BatchSize, n - start);
            if (o.BatchSize > 1 && n - start - count == 1)
                count++; // a trailing one-row batch joins this one (see CheckBatchSize)
            using var scope = torch.NewDisposeScope();
            var index = permutation.narrow(0, start, count);
            var xb = x.Select(index).view(train.BatchShape(count));
            var yb = x.Labels.index_select(0, index);
            foreach (var augmentation in o.Augmentation)
                xb = augmentation.Apply(xb, generator);
            var mixed = o.Mixing?.Apply(xb, yb, generator);
            optimizer.zero_grad();
            shadow?.ZeroGrad();
            var input = mixed?.Images ?? xb;
            var logits = shadow is null ? module.call(input) : net.call(shadow.Input(input)).to(ScalarType.Float32);
            if (start == 0)
                CheckLogits(logits, count, maxLabel, classCount);
            var loss = mixed is null
                ? nn.functional.cross_entropy(LossLogits(module, logits, yb), yb, label_smoothing: o.LabelSmoothing)
                : mixed.Loss(logits, o.LabelSmoothing, (l, y) => LossLogits(module, l, y));
            loss.backward();
            shadow?.PushGradients();
            optimizer.step();
            shadow?.PullWeights();
            using (torch.no_grad())
            {
                lossSum.add_(loss.detach().to(ScalarType.Float64) * count);
                correct.add_(logits.argmax(1).eq(yb).sum());
            }
            rows += count;
        }
        shadow?.PushBuffers(); // the batch-norm statistics the masters are evaluated and exported with
        double loss1 = lossSum.item<double>() / Math.Max(rows, 1);
        double accuracy = (double)correct.item<long>() / Math.Max(rows, 1);
        if (device.type == DeviceType.CUDA)
            torch.cuda.synchronize(device);
        return (loss1, accuracy, rows, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The logits the training loss sees: a cosine head's margin applies here only (<see cref="TorchBackbone.TrainingLogits"/>).</summary>
    private static Tensor LossLogits(nn.Module<Tensor, Tensor> module, Tensor logits, Tensor labels) => module switch
    {
        TorchBackbone backbone => backbone.TrainingLogits(logits, labels),
        HeadOnly head => head.Backbone.TrainingLogits(logits, labels),
        _ => logits,
    };

    private static (double Loss, double Accuracy) EvaluateRows(nn.Module<Tensor, Tensor> module, DeviceRows x, TorchDataset data, int batchSize)
    {
        module.eval();
        using var noGrad = torch.no_grad();
        using var lossSum = torch.zeros(1, ScalarType.Float64, x.Device);
        using var correct = torch.zeros(1, ScalarType.Int64, x.Device);
        int n = data.Count;
        for (int start = 0; start < n; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            int count = Math.Min(batchSize, n - start);
            var xb = x.Narrow(start, count).view(data.BatchShape(count));
            var yb = x.Labels.narrow(0, start, count);
            var logits = module.call(xb);
            if (start == 0)
                CheckLogits(logits, count, data.Labels.Max(), null);
            lossSum.add_(nn.functional.cross_entropy(logits, yb, reduction: nn.Reduction.Sum).to(ScalarType.Float64));
            correct.add_(logits.argmax(1).eq(yb).sum());
        }
        return (lossSum.item<double>() / n, (double)correct.item<long>() / n);
    }

    private static void CheckLogits(Tensor logits, int rows, int maxLabel, int? classCount)
    {
        if (classCount is { } k && (logits.dim() != 2 || logits.shape[1] != k))
            throw new ArgumentException(
                $"The module must return logits [B, {k}] for {k} classes{(k == 2 ? " (binary: 2 logits, class 1 = true)" : "")}; " +
                $"for a batch of {rows} it returned [{string.Join(", ", logits.shape)}].");
        if (logits.dim() != 2 || logits.shape[0] != rows || logits.shape[1] < 2)
            throw new ArgumentException(
                $"The module must return logits [B, K] with K >= 2 (binary: 2 logits); for a batch of {rows} it returned [{string.Join(", ", logits.shape)}].");
        if (maxLabel >= logits.shape[1])
            throw new ArgumentException($"The data have label {maxLabel}, but the module returns only {logits.shape[1]} logits.");
    }

    /// <summary>Rows [start, start + count) of <paramref name="data"/> as floats in a new [count, D] tensor on <paramref name="device"/>.</summary>
    internal static Tensor Rows(TorchDataset data, int start, int count, Device device)
    {
        using var rows = DeviceRows.Create(data, device, start, count);
        return rows.Narrow(0, count); // a view keeps its storage alive after the handle above is disposed
    }

    private static void SeedTorch(long seed, bool cuda)
    {
        torch.random.manual_seed(seed);
        if (cuda)
            torch.cuda.manual_seed_all(seed);
    }

    /// <summary>SplitMix64 of (seed, epoch): independent, reproducible per-epoch seeds (never string or process hashes).</summary>
    private static long EpochSeed(long seed, int epoch)
    {
        unchecked
        {
            ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)epoch * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (long)(z >> 1);
        }
    }

    private optim.Optimizer CreateOptimizer(nn.Module<Tensor, Tensor> module, TorchBackbone? backbone)
    {
        var o = Options;
        double lr = o.LearningRate, decay = o.WeightDecay, momentum = o.Momentum;
        double multiplier = o.Transfer?.HeadLearningRateMultiplier ?? 1;
        if (backbone is null || multiplier == 1)
        {
            var parameters = module.parameters().ToList();
            return o.Optimizer switch
            {
                TorchOptimizerKind.Sgd => optim.SGD(parameters, lr, momentum: momentum, weight_decay: decay, nesterov: momentum > 0),
                TorchOptimizerKind.Adam => optim.Adam(parameters, lr, weight_decay: decay),
                TorchOptimizerKind.AdamW => optim.AdamW(parameters, lr, weight_decay: decay),
                _ => throw new ArgumentException($"Unknown optimizer {o.Optimizer}.", nameof(TorchTrainingSettings.Optimizer)),
            };
        }

        // Discriminative learning rates: group 0 = the backbone (the reported learning rate), group 1 = the new head.
        // The schedulers scale each group from its own initial rate.
        var body = backbone.BackboneParameters().ToList();
        var head = backbone.HeadParameters().ToList();
        double headLr = lr * multiplier;
        return o.Optimizer switch
        {
            TorchOptimizerKind.Sgd => optim.SGD(
                [new SGD.ParamGroup(body, lr, momentum, 0, decay, momentum > 0), new SGD.ParamGroup(head, headLr, momentum, 0, decay, momentum > 0)],
                lr, momentum: momentum, weight_decay: decay, nesterov: momentum > 0),
            TorchOptimizerKind.Adam => optim.Adam(
                [new Adam.ParamGroup(body, lr, weight_decay: decay), new Adam.ParamGroup(head, headLr, weight_decay: decay)],
                lr, weight_decay: decay),
            TorchOptimizerKind.AdamW => optim.AdamW(
                [new AdamW.ParamGroup(body, lr, weight_decay: decay), new AdamW.ParamGroup(head, headLr, weight_decay: decay)],
                lr, weight_decay: decay),
            _ => throw new ArgumentException($"Unknown optimizer {o.Optimizer}.", nameof(TorchTrainingSettings.Optimizer)),
        };
    }

    private optim.lr_scheduler.LRScheduler? CreateScheduler(optim.Optimizer optimizer) => Options.Schedule switch
    {
        TorchLearningRateSchedule.StepSchedule s => optim.lr_scheduler.StepLR(optimizer, s.StepSize, s.Gamma),
        TorchLearningRateSchedule.CosineSchedule c => optim.lr_scheduler.CosineAnnealingLR(optimizer, Options.Epochs, c.MinLearningRate),
        TorchLearningRateSchedule.PlateauSchedule p => optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", p.Factor, p.Patience),
        TorchLearningRateSchedule.WarmupCosineSchedule w => optim.lr_scheduler.LambdaLR(optimizer, e => w.Factor(e, Options.Epochs)),
        _ => null,
    };

    private void StepScheduler(optim.lr_scheduler.LRScheduler? scheduler, double metric)
    {
        if (scheduler is null)
            return;
        if (Options.Schedule is TorchLearningRateSchedule.PlateauSchedule)
            scheduler.step(metric);
        else
            scheduler.step();
    }

    private static void Snapshot(nn.Module<Tensor, Tensor> module, Dictionary<string, Tensor> best)
    {
        foreach (var t in best.Values)
            t.Dispose();
        best.Clear();
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in module.state_dict())
        {
            using var detached = tensor.detach();
            best[name] = detached.to(CPU, copy: true);
        }
    }

    private sealed class LoopState
    {
        public int Epoch;
        public int BestEpoch;
        public double BestLoss = double.PositiveInfinity;
        public int BadEpochs;
        public bool Stopped;
        public List<EpochRecord> History { get; } = [];
    }

    private string Fingerprint(TorchDataset train)
    {
        var o = Options;
        return FormattableString.Invariant(
            $"rows={train.Count};features={train.FeatureCount};batch={o.BatchSize};seed={o.Seed};optimizer={o.Optimizer};lr={o.LearningRate:R};schedule={o.Schedule}{(o.LabelSmoothing == 0 ? "" : $";smoothing={o.LabelSmoothing:R}")}{(o.Transfer is null ? "" : ";transfer=" + o.Transfer)}{(o.Mixing is null ? "" : ";mixing=" + o.Mixing)}");
    }

    /// <summary>Writes the checkpoint atomically (<see cref="AtomicFile"/>): a crash mid-write leaves the previous one intact.</summary>
    private void SaveCheckpoint(string path, TorchDataset train, nn.Module<Tensor, Tensor> module, optim.Optimizer optimizer,
        Dictionary<string, Tensor> best, LoopState state)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Fingerprint(train));
            writer.Write(state.Epoch);
            writer.Write(state.BestEpoch);
            writer.Write(state.BestLoss);
            writer.Write(state.BadEpochs);
            writer.Write(state.Stopped);
            writer.Write(state.History.Count);
            foreach (var r in state.History)
            {
                writer.Write(r.Epoch);
                writer.Write(r.TrainLoss);
                writer.Write(r.TrainAccuracy);
                writer.Write(r.ValidationLoss.HasValue);
                writer.Write(r.ValidationLoss ?? 0);
                writer.Write(r.ValidationAccuracy ?? 0);
                writer.Write(r.LearningRate);
                writer.Write(r.Seconds);
                writer.Write(r.SamplesPerSecond);
            }
            module.save(writer);
            ((OptimizerHelper)optimizer).save_state_dict(writer);
            writer.Write(best.Count);
            foreach (var (name, tensor) in best)
            {
                writer.Write(name);
                tensor.Save(writer);
            }
            writer.Flush();
        });
    }

    private void LoadCheckpoint(string path, TorchDataset train, nn.Module<Tensor, Tensor> module, optim.Optimizer optimizer,
        optim.lr_scheduler.LRScheduler? scheduler, Dictionary<string, Tensor> best, LoopState state)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8);
        if (reader.ReadString() != Magic || reader.ReadInt32() != FormatVersion)
            throw new InvalidDataException($"'{path}' is not an MLPipelines Torch checkpoint of format version {FormatVersion}.");
        var saved = reader.ReadString();
        var expected = Fingerprint(train);
        if (saved != expected)
            throw new InvalidDataException($"The checkpoint '{path}' belongs to another run ({saved}); this run is {expected}.");
        state.Epoch = reader.ReadInt32();
        state.BestEpoch = reader.ReadInt32();
        state.BestLoss = reader.ReadDouble();
        state.BadEpochs = reader.ReadInt32();
        state.Stopped = reader.ReadBoolean();
        int count = reader.ReadInt32();
        for (int i = 0; i < count; i++)
        {
            int epoch = reader.ReadInt32();
            double trainLoss = reader.ReadDouble(), trainAccuracy = reader.ReadDouble();
            bool hasValidation = reader.ReadBoolean();
            double vl = reader.ReadDouble(), va = reader.ReadDouble();
            double lr = reader.ReadDouble(), seconds = reader.ReadDouble(), ips = reader.ReadDouble();
            state.History.Add(new EpochRecord(epoch, trainLoss, trainAccuracy,
                hasValidation ? vl : null, hasValidation ? va : null, lr, seconds, ips));
        }
        module.load(reader); // copies into the existing parameters, which the optimiser holds
        // The schedule is replayed on the fresh optimiser (same operations, so the same learning rates), then the
        // optimiser's own state (moments, momentum buffers, step counts) is restored.
        foreach (var r in state.History)
            StepScheduler(scheduler, r.ValidationLoss ?? r.TrainLoss);
        var lr1 = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        ((OptimizerHelper)optimizer).load_state_dict(reader);
        int i2 = 0;
        foreach (var g in optimizer.ParamGroups)
            g.LearningRate = lr1[i2++];
        int bestCount = reader.ReadInt32();
        for (int i = 0; i < bestCount; i++)
        {
            var name = reader.ReadString();
            best[name] = TensorExtensionMethods.Load(reader);
        }
    }
}
