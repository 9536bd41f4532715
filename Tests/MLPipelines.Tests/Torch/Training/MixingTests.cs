using MLPipelines.Torch.Training;
using TorchSharp;
using static MLPipelines.Tests.Torch.Training.TrainingFixtures;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

/// <summary>MixUp / CutMix (<see cref="MixUpCutMix"/>), TrivialAugment and the trainer's mixed-target loss.</summary>
[Collection(TorchTrainingCollection.Name)]
public sealed class MixingTests
{
    /// <summary>Two known images: image 0 all 0.2, image 1 all 0.9 (2 channels, 8 x 10), labels 3 and 1.</summary>
    private static (Tensor X, Tensor Y) TwoImages()
    {
        var x = torch.cat([torch.full([1, 2, 8, 10], 0.2f), torch.full([1, 2, 8, 10], 0.9f)], 0);
        var y = torch.tensor(new long[] { 3, 1 });
        return (x, y);
    }

    [TorchFact]
    public void MixUp_IsTheExactConvexCombination_WithMatchingSoftLabels()
    {
        var (x, y) = TwoImages();
        using var _x = x;
        using var _y = y;
        using var g = new Generator(11);
        var mixed = new MixUpCutMix(mixupAlpha: 0.4, cutmixAlpha: 0).Apply(x, y, g);
        double l = mixed.Lambda;
        Assert.InRange(l, 1e-6, 1 - 1e-6);
        // Image 0 mixes with image 1 (the batch reversed) and vice versa.
        Assert.Equal(0.2 * l + 0.9 * (1 - l), mixed.Images[0].mean().item<float>(), 5);
        Assert.Equal(0.9 * l + 0.2 * (1 - l), mixed.Images[1].mean().item<float>(), 5);
        Assert.True(mixed.Images.std([2, 3]).max().item<float>() < 1e-6f); // blended everywhere
        using var soft = mixed.SoftTargets(5);
        var t = soft.data<float>().ToArray();
        float[] expected = [0, (float)(1 - l), 0, (float)l, 0, 0, (float)l, 0, (float)(1 - l), 0];
        for (int i = 0; i < t.Length; i++)
            Assert.Equal(expected[i], t[i], 6);
        Assert.Equal(new long[] { 1, 3 }, mixed.PartnerLabels.data<long>().ToArray());
    }

    [TorchFact]
    public void CutMix_PastesABoxWhoseAreaIsOneMinusLambda()
    {
        var (x, y) = TwoImages();
        using var _x = x;
        using var _y = y;
        int boxes = 0;
        for (ulong seed = 1; seed <= 20; seed++)
        {
            using var g = new Generator(seed);
            var mixed = new MixUpCutMix(mixupAlpha: 0, cutmixAlpha: 1.0).Apply(x, y, g);
            // Pixels of image 0 that came from image 1 are exactly 0.9; their share is 1 - lambda.
            double pasted = mixed.Images[0].eq(0.9f).to(ScalarType.Float64).mean().item<double>();
            Assert.Equal(1 - mixed.Lambda, pasted, 12);
            double pastedBack = mixed.Images[1].eq(0.2f).to(ScalarType.Float64).mean().item<double>();
            Assert.Equal(pasted, pastedBack, 12);
            if (pasted > 0) boxes++;
        }
        Assert.True(boxes >= 15, $"only {boxes} of 20 batches got a box");
        // The box helper: centred, clipped, sides sqrt(1 - lambda) of the image's.
        Assert.Equal((2, 1, 4, 6), MixUpCutMix.Box(8, 12, 0.75, 0.6, 0.4));
        Assert.Equal((0, 0, 8, 12), MixUpCutMix.Box(8, 12, 0.0, 0.5, 0.5));
        Assert.Equal((0, 0, 0, 0), MixUpCutMix.Box(8, 12, 1.0, 0.0, 0.0));
    }

    [TorchFact]
    public void MixedLoss_EqualsTheSoftTargetCrossEntropy_WithLabelSmoothing()
    {
        torch.random.manual_seed(3);
        using var logits = torch.randn([6, 5]);
        using var y = torch.tensor(new long[] { 0, 4, 2, 2, 1, 3 });
        using var images = torch.rand([6, 1, 4, 4]);
        using var g = new Generator(5);
        var mixed = new MixUpCutMix(0.3, 0).Apply(images, y, g);
        foreach (double smoothing in new[] { 0.0, 0.1 })
        {
            using var loss = mixed.Loss(logits, smoothing);
            using var soft = mixed.SoftTargets(5, smoothing);
            using var reference = -(soft * logits.log_softmax(1)).sum(1).mean();
            Assert.Equal(reference.item<float>(), loss.item<float>(), 5);
        }
    }

    [TorchFact]
    public void MixedLoss_WithACosineMargin_AppliesTheMarginToEachTermsOwnTarget()
    {
        using var scope = torch.NewDisposeScope(); // the temporaries of the reference and the mixed batch
        torch.random.manual_seed(4);
        using var logits = torch.randn([6, 5]) * 8;
        using var y = torch.tensor(new long[] { 0, 4, 2, 2, 1, 3 });
        using var images = torch.rand([6, 1, 4, 4]);
        using var g = new Generator(5);
        var mixed = new MixUpCutMix(0.4, 0).Apply(images, y, g);
        Assert.InRange(mixed.Lambda, 0.01, 0.99); // both terms count
        var head = new MLPipelines.Torch.Transfer.CosineHead { Scale = 8, Margin = 0.3 };
        using var loss = mixed.Loss(logits, 0.1, head.WithMargin);
        // Reference: lambda CE(s(cos - m onehot(y)), y) + (1 - lambda) CE(s(cos - m onehot(y')), y'), written out.
        using var own = torch.nn.functional.cross_entropy(logits - torch.nn.functional.one_hot(y, 5).to(ScalarType.Float32) * (8 * 0.3), y, label_smoothing: 0.1);
        using var partner = torch.nn.functional.cross_entropy(logits - torch.nn.functional.one_hot(mixed.PartnerLabels, 5).to(ScalarType.Float32) * (8 * 0.3), mixed.PartnerLabels, label_smoothing: 0.1);
        double reference = mixed.Lambda * own.item<float>() + (1 - mixed.Lambda) * partner.item<float>();
        Assert.Equal(reference, loss.item<float>(), 4);
        using var plain = mixed.Loss(logits, 0.1);
        Assert.True(loss.item<float>() > plain.item<float>() + 0.1, "the margin must raise the loss");
        // A function that hands back its input leaves the logits usable (not disposed).
        using var same = mixed.Loss(logits, 0.1, (l, _) => l);
        Assert.Equal(plain.item<float>(), same.item<float>(), 6);
        Assert.Equal(6, logits.shape[0]);
    }

    [TorchFact]
    public void Mixing_And_TrivialAugment_AreReproducibleFromTheSeed()
    {
        using var x = torch.rand([16, 3, 12, 12], generator: new Generator(2));
        using var y = torch.arange(16, dtype: ScalarType.Int64) % 4;
        Tensor Run(ulong seed)
        {
            using var g = new Generator(seed);
            using var a = new TrivialAugment().Apply(x, g);
            var m = new MixUpCutMix().Apply(a, y, g);
            return m.Images;
        }
        using var r1 = Run(9);
        using var r2 = Run(9);
        using var r3 = Run(10);
        Assert.True(r1.allclose(r2, 0, 0));
        Assert.False(r1.allclose(r3, 0, 0));
    }

    [TorchFact]
    public void TrivialAugment_KeepsShapeAndRange_AndLeavesIdentityDrawsUnchanged()
    {
        using var x = torch.rand([64, 3, 16, 16], generator: new Generator(4));
        var ta = new TrivialAugment();
        using var g1 = new Generator(21);
        var (ops, magnitudes) = ta.Draw(64, g1);
        using var _o = ops;
        using var _m = magnitudes;
        using var g2 = new Generator(21);
        using var y = ta.Apply(x, g2);
        Assert.Equal(x.shape, y.shape);
        Assert.True(y.min().item<float>() >= 0 && y.max().item<float>() <= 1);
        var drawn = ops.data<long>().ToArray();
        Assert.True(drawn.Distinct().Count() >= 10, "64 images should draw most of the 13 operations");
        int changed = 0;
        for (int i = 0; i < 64; i++)
        {
            bool same = y[i].allclose(x[i], 0, 0);
            if (drawn[i] == (long)TrivialAugment.Operation.Identity)
                Assert.True(same, $"image {i} drew the identity but changed");
            else if (!same)
                changed++;
        }
        Assert.True(changed >= 40, $"only {changed} images changed");
        // Solarize with threshold 0 (|m| = 1) inverts every pixel; brightness by 1 + 0.99 m scales (then clamps).
        Assert.Equal(13, ta.OperationCount);
        Assert.Equal(10, new TrivialAugment(unitRange: false).OperationCount);
    }

    [TorchFact]
    public void Trainer_WithMixing_IsReproducible_AndTrains()
    {
        var data = Blobs(48, 3 * 6 * 6, 3, seed: 8, noise: 0.3, imageShape: [3, 6, 6]);
        TorchTrainingResult Train()
        {
            var options = new TorchTrainingSettings
            {
                Epochs = 4, BatchSize = 16, Seed = 3, Threads = 1, Device = "cpu", LabelSmoothing = 0.1,
                Mixing = new MixUpCutMix(0.2, 1.0), Augmentation = [new TrivialAugment(unitRange: false)],
            };
            return new TorchClassifierTrainer(() => torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(108, 3)), options).Train(data, classCount: 3);
        }
        var a = Train();
        var b = Train();
        Assert.True(SameWeights(a.Module, b.Module));
        Assert.True(a.History.Epochs[^1].TrainLoss < a.History.Epochs[0].TrainLoss,
            $"loss {a.History.Epochs[0].TrainLoss} -> {a.History.Epochs[^1].TrainLoss}");
        a.Module.Dispose();
        b.Module.Dispose();
    }
}
