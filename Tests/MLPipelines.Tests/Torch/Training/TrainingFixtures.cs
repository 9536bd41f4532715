using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Tests.Torch.Training;

/// <summary>Tiny synthetic data and networks for the training tests.</summary>
internal static class TrainingFixtures
{
    /// <summary>Gaussian blobs: class k is centred at a seeded random point; <paramref name="noise"/> is the spread.</summary>
    public static TorchDataset Blobs(int rows, int features, int classes, int seed, double noise = 0.5, int[]? imageShape = null)
    {
        var random = new Random(seed);
        var centres = new float[classes, features];
        var centreRandom = new Random(12345);
        for (int k = 0; k < classes; k++)
            for (int j = 0; j < features; j++)
                centres[k, j] = (float)(centreRandom.NextDouble() * 2 - 1);
        var x = new float[rows * features];
        var y = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            y[i] = i % classes;
            for (int j = 0; j < features; j++)
                x[i * features + j] = centres[y[i], j] + (float)(Gaussian(random) * noise);
        }
        return new TorchDataset(x, y, features, imageShape);
    }

    /// <summary>Random features with random labels: a network can only memorise them, so validation loss rises.</summary>
    public static TorchDataset Noise(int rows, int features, int classes, int seed)
    {
        var random = new Random(seed);
        var x = new float[rows * features];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)Gaussian(random);
        var y = Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray();
        return new TorchDataset(x, y, features);
    }

    public static nn.Module<Tensor, Tensor> SmallNet(int input, int hidden, int classes)
        => nn.Sequential(nn.Linear(input, hidden), nn.ReLU(), nn.Linear(hidden, classes));

    public static Dictionary<string, float[]> Weights(nn.Module<Tensor, Tensor> module)
        => module.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().cpu().data<float>().ToArray());

    public static bool SameWeights(nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> b)
    {
        var wa = Weights(a);
        var wb = Weights(b);
        return wa.Count == wb.Count && wa.All(p => wb.TryGetValue(p.Key, out var v) && p.Value.AsSpan().SequenceEqual(v));
    }

    private static double Gaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

/// <summary>An <see cref="IProgress{T}"/> that records synchronously (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class ListProgress<T>(Action<T>? onReport = null) : IProgress<T>
{
    public List<T> Items { get; } = [];

    public void Report(T value)
    {
        Items.Add(value);
        onReport?.Invoke(value);
    }
}
