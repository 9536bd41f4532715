using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using MLPipelines.Torch.Export;
using MLPipelines.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Benchmarks;

/// <summary>
/// Training at batch 64 (Adam) of the 784-128-64-10 MLP and of the Bn4Dropout ConvNet: one epoch of
/// <see cref="TorchClassifierTrainer"/> on synthetic rows (6,400 MLP rows, 640 CNN rows; includes the trainer's set-up:
/// module creation and data upload), and 10 bare steps on one fixed batch. Images/s = rows / mean time.
/// Run: <c>dotnet run -c Release --project Benchmarks/MLPipelines.Benchmarks -- --filter *TorchTraining*</c>.
/// </summary>
[MemoryDiagnoser]
public class TorchTrainingBenchmark
{
    private TorchDataset _data = null!;
    private TorchWorkload.BareLoop _loop = null!;

    /// <summary>"mlp" (784-128-64-10, dropout 0.2) or "cnn" (Bn4Dropout, 64x64 grayscale).</summary>
    [Params("mlp", "cnn")]
    public string Net { get; set; } = "mlp";

    /// <summary>Sets the torch threads (TORCH_THREADS, default 2), makes the data and the bare loop.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchWorkload.ConfigureThreads();
        _data = TorchWorkload.Data(Net);
        _loop = new TorchWorkload.BareLoop(Net);
    }

    /// <summary>Frees the bare loop's module, optimiser and batch.</summary>
    [GlobalCleanup]
    public void Cleanup() => _loop.Dispose();

    /// <summary>One epoch through the project's training loop (module factory, upload, shuffled batches, loss/accuracy).</summary>
    [Benchmark]
    public double TrainerEpoch()
    {
        TorchTrainingResult r = new TorchClassifierTrainer(() => TorchWorkload.Create(Net), TorchWorkload.Options(1)).Train(_data, classCount: TorchWorkload.Classes);
        r.Module.Dispose();
        return r.History.Epochs[0].TrainLoss;
    }

    /// <summary>Ten forward/backward/Adam steps on one fixed batch of 64 (reported per step).</summary>
    [Benchmark(OperationsPerInvoke = 10)]
    public void BareStep()
    {
        for (int i = 0; i < 10; i++)
        {
            _loop.Step();
        }
    }
}

/// <summary>
/// Inference of the exported Bn4Dropout ConvNet (64x64 grayscale, 10 classes): ONNX Runtime (intra-op threads =
/// TORCH_THREADS, default 2) against the TorchSharp eval forward pass under no_grad, on the same batch.
/// Run: <c>dotnet run -c Release --project Benchmarks/MLPipelines.Benchmarks -- --filter *OnnxInference*</c>.
/// </summary>
[MemoryDiagnoser]
public class OnnxInferenceBenchmark
{
    private nn.Module<Tensor, Tensor> _net = null!;
    private InferenceSession _session = null!;
    private SessionOptions _options = null!;
    private RunOptions _runOptions = null!;
    private OrtValue _ortInput = null!;
    private Tensor _x = null!;
    private Dictionary<string, OrtValue> _inputs = null!;

    /// <summary>Images per call.</summary>
    [Params(64, 1)]
    public int Batch { get; set; } = 64;

    /// <summary>Creates the network (seed 1), exports it and opens the ONNX Runtime session.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchWorkload.ConfigureThreads();
        torch.random.manual_seed(1);
        _net = TorchWorkload.Create("cnn");
        _net.eval();
        byte[] model = TorchOnnxExporter.Export(_net, [1, TorchWorkload.ImageSize, TorchWorkload.ImageSize]);
        _options = new SessionOptions { IntraOpNumThreads = TorchWorkload.Threads, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, _options);
        _runOptions = new RunOptions();
        long[] shape = [Batch, 1, TorchWorkload.ImageSize, TorchWorkload.ImageSize];
        var input = new float[Batch * TorchWorkload.ImageSize * TorchWorkload.ImageSize];
        var rng = new Random(2);
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = rng.NextSingle();
        }

        _ortInput = OrtValue.CreateTensorValueFromMemory(input, shape);
        _inputs = new Dictionary<string, OrtValue> { ["input"] = _ortInput };
        _x = torch.tensor(input, shape);
    }

    /// <summary>Frees the session, the module and the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _options.Dispose();
        _runOptions.Dispose();
        _ortInput.Dispose();
        _x.Dispose();
        _net.Dispose();
    }

    /// <summary>ONNX Runtime, outputs copied to a managed array.</summary>
    [Benchmark(Baseline = true)]
    public float[] OnnxRuntime()
    {
        using var outputs = _session.Run(_runOptions, _inputs, ["output"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>TorchSharp eval forward under no_grad in a dispose scope, outputs copied to a managed array.</summary>
    [Benchmark]
    public float[] TorchSharpEval()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return _net.call(_x).data<float>().ToArray();
    }
}
