using System.Diagnostics;
using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>cnn-speed [sizes] [steps] [blocks per stage] [resnet-only]</c>: training images/s of m3-cnn's networks (the best recipe's <see cref="SmallResNet"/>
/// and the course's Bn4Dropout ConvNet) at batch 64 on random RGB images, each step with the best recipe's batch
/// augmentation (flip, random resized crop, TrivialAugment, MixUp/CutMix), AdamW; and the estimated seconds per
/// Stanford Cars epoch (5,278 training images). Sizes default to 64,96,112,128. Used to size the small-ResNet recipe's
/// image side and epoch count (docs/milestones-2-3.md, "From scratch on Stanford Cars").
/// </summary>
internal static class CnnSpeed
{
    private const int TrainImages = 5278;

    public static int Run(string[] args)
    {
        int[] sizes = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [64, 96, 112, 128];
        int steps = args.Length > 2 ? int.Parse(args[2]) : 5;
        int blocks = args.Length > 3 ? int.Parse(args[3]) : SmallResNetOptions.Defaults.BlocksPerStage;
        bool course = args.Length <= 4 || args[4] != "resnet-only";
        Console.WriteLine($"# {TorchWorkload.ConfigureThreads()}; batch 64, {steps} timed steps after 2 warm-up steps");
        foreach (int size in sizes)
        {
            Time("small-resnet", size, steps, () => SmallResNet.Create(new SmallResNetOptions { NumClasses = 196, ImageHeight = size, ImageWidth = size, StemStride = size >= 64 ? 2 : 1, BlocksPerStage = blocks }), augment: true);
            if (course)
                Time("bn4-dropout", size, steps, () => ConvNet.Create(ConvNetOptions.Bn4Dropout(196, 3, size)), augment: false);
        }

        return 0;
    }

    private static void Time(string name, int size, int steps, Func<nn.Module<Tensor, Tensor>> create, bool augment)
    {
        random.manual_seed(1);
        using var net = create();
        net.train();
        using var optimizer = optim.AdamW(net.parameters(), 0.002, weight_decay: 0.05);
        using var generator = new Generator(7);
        TorchAugmentation[] augmentations = augment ? [new HorizontalFlip(), new RandomResizedCrop(0.25, 1), new TrivialAugment()] : [];
        var mixing = augment ? new MixUpCutMix() : null;
        using var x = rand([64, 3, size, size]);
        using var y = randint(196, [64], dtype: ScalarType.Int64);
        double augmentSeconds = 0;
        var clock = new Stopwatch();
        for (int i = 0; i < steps + 2; i++)
        {
            if (i == 2)
            {
                clock.Restart();
                augmentSeconds = 0;
            }

            using var scope = NewDisposeScope();
            var a = Stopwatch.StartNew();
            var xb = x;
            foreach (var t in augmentations)
            {
                xb = t.Apply(xb, generator);
            }

            var mixed = mixing?.Apply(xb, y, generator);
            augmentSeconds += a.Elapsed.TotalSeconds;
            optimizer.zero_grad();
            var logits = net.call(mixed?.Images ?? xb);
            var loss = mixed?.Loss(logits, 0.1) ?? nn.functional.cross_entropy(logits, y);
            loss.backward();
            optimizer.step();
        }

        double seconds = clock.Elapsed.TotalSeconds;
        double ips = steps * 64 / seconds;
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT net={name} size={size} images_per_s={ips:F1} augment_share={augmentSeconds / seconds:P0} cars_epoch_s={TrainImages / ips:F0}"));
    }
}
