using MLPipelines.Tests.Torch.Training;
using MLPipelines.Torch.Training;
using MLPipelines.Torch.Transfer;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Transfer;

/// <summary>Frozen, fine-tuning and progressive strategies of <see cref="TorchClassifierTrainer"/>.</summary>
[Collection(MLPipelines.Tests.Torch.Training.TorchTrainingCollection.Name)]
public sealed class TransferStrategyTests(ITestOutputHelper output)
{
    private sealed class Sync<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    private static bool Same(Tensor a, Tensor b) => a.equal(b).all().item<bool>();

    private static TorchDataset Data() => TrainingFixtures.Blobs(24, 3 * 32 * 32, 3, seed: 5, noise: 0.5, imageShape: [3, 32, 32]);

    [TorchFact]
    public void Frozen_BackboneUnchanged_HeadTrained()
    {
        ResNet? net = null;
        Dictionary<string, Tensor>? initial = null;
        var options = new TorchTrainingSettings
        {
            Epochs = 2, BatchSize = 8, LearningRate = 1e-2, Threads = 2, Device = "cpu",
            Transfer = new TorchTransferOptions { Strategy = TransferStrategy.Frozen },
        };
        var trainer = new TorchClassifierTrainer(() =>
        {
            net = ResNet.ResNet18(3);
            initial = Snapshot(net);
            return net;
        }, options);
        var result = trainer.Train(Data(), classCount: 3);
        var final = result.Module.state_dict();
        int unchanged = 0;
        foreach (var (k, v) in initial!)
        {
            if (k.StartsWith("fc.", StringComparison.Ordinal))
                Assert.False(Same(v, final[k]), $"head {k} did not change");
            else
            {
                Assert.True(Same(v, final[k]), $"frozen {k} changed");
                unchanged++;
            }
        }
        Assert.Equal(["fc.weight", "fc.bias"], net!.TrainableParameterNames());
        output.WriteLine($"{unchanged} backbone entries (parameters and BN statistics) unchanged; head changed; losses {string.Join(", ", result.History.Epochs.Select(e => e.TrainLoss.ToString("F3")))}");
    }

    [TorchFact]
    public void Frozen_CachedEmbeddings_MatchRunningTheBackboneEveryEpoch()
    {
        var validation = TrainingFixtures.Blobs(9, 3 * 32 * 32, 3, seed: 6, noise: 0.5, imageShape: [3, 32, 32]);
        using var reference = ResNet.ResNet18(3);
        var initial = Snapshot(reference);
        TorchTrainingResult Run(bool cache, List<string> log)
        {
            var options = new TorchTrainingSettings
            {
                Epochs = 3, BatchSize = 8, LearningRate = 1e-2, Threads = 2, Device = "cpu", Seed = 3,
                Transfer = new TorchTransferOptions { Strategy = TransferStrategy.Frozen, CacheFrozenFeatures = cache },
                Log = new Sync<string>(log.Add),
            };
            return new TorchClassifierTrainer(() =>
            {
                // Same initial weights for both runs without relying on the process-wide torch generator (tests in
                // other classes draw from it in parallel); no dropout for the same reason.
                var net = ResNet.ResNet18(3);
                net.load_state_dict(initial);
                return net;
            }, options).Train(Data(), validation, classCount: 3);
        }

        var cachedLog = new List<string>();
        var plainLog = new List<string>();
        var cached = Run(true, cachedLog);
        var plain = Run(false, plainLog);
        Assert.Contains(cachedLog, l => l.Contains("embeddings of 33 images once", StringComparison.Ordinal));
        Assert.DoesNotContain(plainLog, l => l.Contains("once", StringComparison.Ordinal));

        var a = cached.Module.state_dict();
        var b = plain.Module.state_dict();
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        output.WriteLine($"losses {string.Join(", ", cached.History.Epochs.Select(e => $"{e.TrainLoss:F5}/{e.ValidationLoss:F5}"))} vs {string.Join(", ", plain.History.Epochs.Select(e => $"{e.TrainLoss:F5}/{e.ValidationLoss:F5}"))}");
        double worst = 0;
        foreach (var (k, v) in b)
        {
            double diff = (a[k] - v).abs().max().ToDouble();
            double scale = v.numel() == 0 ? 1 : 1 + v.abs().max().ToDouble();
            worst = Math.Max(worst, diff / scale);
            Assert.True(diff <= 1e-4 * scale, $"{k}: max |diff| {diff}");
        }
        for (int e = 0; e < 3; e++)
        {
            var (x, y) = (cached.History.Epochs[e], plain.History.Epochs[e]);
            Assert.Equal(y.TrainLoss, x.TrainLoss, 1e-4);
            Assert.Equal(y.ValidationLoss!.Value, x.ValidationLoss!.Value, 1e-4);
            Assert.Equal(y.ValidationAccuracy!.Value, x.ValidationAccuracy!.Value, 6);
        }
        output.WriteLine($"worst relative weight difference {worst:G3}; losses {string.Join(", ", cached.History.Epochs.Select(e => e.TrainLoss.ToString("F5")))} vs {string.Join(", ", plain.History.Epochs.Select(e => e.TrainLoss.ToString("F5")))}");
    }

    [TorchFact]
    public void HeadLearningRateMultiplier_ScalesTheHeadsFirstAdamStep()
    {
        // Adam's first step moves every parameter with a non-zero gradient by lr * g / (|g| + eps) = +-lr (to ~1e-5),
        // so the largest change per group is exactly its learning rate: 1e-3 for the backbone, 1e-2 for the head.
        Dictionary<string, Tensor>? initial = null;
        var options = new TorchTrainingSettings
        {
            Epochs = 1, BatchSize = 24, LearningRate = 1e-3, Threads = 2, Device = "cpu", Optimizer = TorchOptimizerKind.Adam,
            Transfer = new TorchTransferOptions { Strategy = TransferStrategy.FineTune, HeadLearningRateMultiplier = 10 },
        };
        var result = new TorchClassifierTrainer(() =>
        {
            var net = ResNet.ResNet18(3);
            initial = Snapshot(net);
            return net;
        }, options).Train(Data(), classCount: 3);
        var final = result.Module.state_dict();
        double Step(string name) => (final[name] - initial![name]).abs().max().ToDouble();
        Assert.Equal(1e-2, Step("fc.weight"), 1e-2 * 1e-3);
        Assert.Equal(1e-2, Step("fc.bias"), 1e-2 * 1e-3);
        Assert.Equal(1e-3, Step("conv1.weight"), 1e-3 * 1e-3);
        Assert.Equal(1e-3, Step("layer4.1.conv2.weight"), 1e-3 * 1e-3);
        Assert.Equal(1e-3, result.History.Epochs[0].LearningRate, 12);

        Assert.Throws<ArgumentException>(() => new TorchClassifierTrainer(() => ResNet.ResNet18(3), new TorchTrainingSettings
        {
            Transfer = new TorchTransferOptions { HeadLearningRateMultiplier = 0 },
        }));
    }

    [TorchFact]
    public void Progressive_TrainableSetChangesAtScheduledEpochs()
    {
        ResNet? net = null;
        Dictionary<string, Tensor>? initial = null;
        var perEpoch = new List<IReadOnlyList<string>>();
        var log = new List<string>();
        var options = new TorchTrainingSettings
        {
            Epochs = 4, BatchSize = 8, LearningRate = 1e-3, Threads = 2, Device = "cpu",
            Schedule = TorchLearningRateSchedule.Step(7, 0.1),
            Transfer = new TorchTransferOptions { Strategy = TransferStrategy.Progressive, UnfreezeEpochs = [2, 4] },
            Progress = new Sync<EpochRecord>(_ => perEpoch.Add(net!.TrainableParameterNames())),
            Log = new Sync<string>(log.Add),
        };
        var trainer = new TorchClassifierTrainer(() =>
        {
            net = ResNet.ResNet18(3);
            initial = Snapshot(net);
            return net;
        }, options);
        var result = trainer.Train(Data(), classCount: 3);
        foreach (var line in log) output.WriteLine(line);

        static string Stage(string n) => n.Split('.')[0];
        Assert.Equal(4, perEpoch.Count);
        Assert.Equal(["fc"], perEpoch[0].Select(Stage).Distinct());
        Assert.Equal(["fc", "layer4"], perEpoch[1].Select(Stage).Distinct().Order());
        Assert.Equal(perEpoch[1], perEpoch[2]);
        Assert.Equal(["fc", "layer3", "layer4"], perEpoch[3].Select(Stage).Distinct().Order());
        Assert.True(perEpoch[0].Count < perEpoch[1].Count && perEpoch[1].Count < perEpoch[3].Count);

        // The optimiser picked up the newly trainable stages; the still-frozen ones did not move.
        var final = result.Module.state_dict();
        Assert.False(Same(initial!["layer4.1.conv2.weight"], final["layer4.1.conv2.weight"]));
        Assert.False(Same(initial["layer3.0.conv1.weight"], final["layer3.0.conv1.weight"]));
        Assert.True(Same(initial["layer2.0.conv1.weight"], final["layer2.0.conv1.weight"]));
        Assert.True(Same(initial["bn1.running_mean"], final["bn1.running_mean"]));
        Assert.True(Same(initial["conv1.weight"], final["conv1.weight"]));
    }

    [TorchFact]
    public void Transfer_NeedsABackbone()
    {
        var options = new TorchTrainingSettings { Epochs = 1, Transfer = new TorchTransferOptions { Strategy = TransferStrategy.Frozen } };
        var trainer = new TorchClassifierTrainer(() => TrainingFixtures.SmallNet(3 * 32 * 32, 8, 3), options);
        var e = Assert.Throws<ArgumentException>(() => trainer.Train(Data(), classCount: 3));
        Assert.Contains("Backbone", e.Message);
    }
}
