using MLPipelines.Torch.Nets;
using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Benchmarks;

/// <summary>
/// The two TorchSharp training workloads of the benchmarks, identical to <c>Benchmarks/python/torch_reference.py</c>:
/// the 784-128-64-10 MLP (ReLU, dropout 0.2) and the Bn4Dropout ConvNet (4 blocks 32-64-128-256, BatchNorm, 64x64
/// grayscale, dropout 0.5, 10 classes), both Adam (lr 0.001), batch 64, softmax cross-entropy, on synthetic data.
/// </summary>
internal static class TorchWorkload
{
    public const int Batch = 64;
    public const int Classes = 10;
    public const int MlpRows = 6400;
    public const int CnnRows = 640;
    public const int ImageSize = 64;

    /// <summary>
    /// libtorch intra-op threads: TORCH_THREADS, default 2 (the machine's cores; PyTorch is set to the same); 0 leaves
    /// libtorch's own default (and ONNX Runtime's) alone.
    /// </summary>
    public static int Threads => int.TryParse(Environment.GetEnvironmentVariable("TORCH_THREADS"), out int t) && t >= 0 ? t : 2;

    /// <summary>Sets the intra-op threads (and inter-op threads from TORCH_INTEROP_THREADS, before any parallel work) and returns a description.</summary>
    public static string ConfigureThreads()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("TORCH_INTEROP_THREADS"), out int interop) && interop > 0)
        {
            torch.set_num_interop_threads(interop);
        }

        if (Threads > 0)
        {
            torch.set_num_threads(Threads);
        }

        return $"torch threads {torch.get_num_threads()}, interop threads {torch.get_num_interop_threads()}, TorchSharp {typeof(torch).Assembly.GetName().Version}, .NET {Environment.Version}";
    }

    public static bool IsCnn(string net) => net == "cnn";

    public static int Rows(string net) => IsCnn(net) ? CnnRows : MlpRows;

    public static int FeatureCount(string net) => IsCnn(net) ? ImageSize * ImageSize : 784;

    public static nn.Module<Tensor, Tensor> Create(string net) => IsCnn(net)
        ? ConvNet.Create(ConvNetOptions.Bn4Dropout(Classes, inputChannels: 1, imageSize: ImageSize))
        : MlpNet.Create([784, 128, 64, 10], dropout: 0.2);

    /// <summary>Uniform [0, 1) features and uniform labels (the speed does not depend on what is learnt).</summary>
    public static TorchDataset Data(string net, int seed = 1)
    {
        int rows = Rows(net), d = FeatureCount(net);
        var rng = new Random(seed);
        var x = new float[rows * d];
        var y = new int[rows];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = rng.NextSingle();
        }

        for (int i = 0; i < rows; i++)
        {
            y[i] = rng.Next(Classes);
        }

        return new TorchDataset(x, y, d, IsCnn(net) ? [1, ImageSize, ImageSize] : null);
    }

    public static TorchTrainingSettings Options(int epochs) => new()
    {
        Optimizer = TorchOptimizerKind.Adam,
        LearningRate = 0.001,
        Epochs = epochs,
        BatchSize = Batch,
        Device = "cpu",
        Threads = Threads,
    };

    /// <summary>
    /// A bare TorchSharp training loop on one fixed batch: zero_grad, forward, cross-entropy, backward, Adam step,
    /// each step in its own dispose scope. Holds the module, the optimiser and the batch.
    /// </summary>
    public sealed class BareLoop : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> _module;
        private readonly optim.Optimizer _optimizer;
        private readonly Tensor _x;
        private readonly Tensor _y;

        public BareLoop(string net)
        {
            torch.random.manual_seed(1);
            _module = Create(net);
            _module.train();
            _optimizer = optim.Adam(_module.parameters(), 0.001);
            _x = IsCnn(net) ? torch.rand(Batch, 1, ImageSize, ImageSize) : torch.rand(Batch, 784);
            _y = torch.randint(0, Classes, [Batch], ScalarType.Int64);
        }

        /// <summary>One training step; returns nothing to keep the loss on the device (no synchronisation beyond libtorch's own).</summary>
        public void Step()
        {
            using var scope = torch.NewDisposeScope();
            _optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(_module.call(_x), _y);
            loss.backward();
            _optimizer.step();
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _module.Dispose();
            _x.Dispose();
            _y.Dispose();
        }
    }
}
