using BenchmarkDotNet.Running;
using MLPipelines.Benchmarks;

if (args.Length > 0 && (args[0] == "mlp-quick" || args[0] == "--quick"))
{
    return MlpQuick.Run(args);
}

if (args.Length > 0 && args[0] == "featurize-quick")
{
    return FeaturizeQuick.Run(args);
}

if (args.Length > 0 && args[0] == "background-eval")
{
    return BackgroundEval.Run(args);
}

if (args.Length > 0 && args[0] == "tta-eval")
{
    return TtaEval.Run(args);
}

if (args.Length > 0 && args[0] == "transfer-throughput")
{
    return TransferThroughput.Run(args);
}

if (args.Length > 0 && args[0] == "knn-quick")
{
    return KnnQuick.Run(args);
}

if (args.Length > 0 && args[0] == "mlp-kernels")
{
    return MlpQuick.Kernels();
}

if (args.Length > 0 && args[0] == "mlp-phases")
{
    if (args.Length > 1 && int.TryParse(args[1], out int threads))
    {
        MLPipelines.Mlp.Kernels.Gemm.MaxThreads = threads;
    }

    return MlpQuick.Phases();
}

if (args.Length > 0 && args[0] == "torch-quick")
{
    return TorchQuick.Train(args);
}

if (args.Length > 0 && args[0] == "cnn-speed")
{
    return CnnSpeed.Run(args);
}

if (args.Length > 0 && args[0] == "torch-matmul")
{
    return TorchQuick.Matmul(args);
}

if (args.Length > 0 && args[0] == "onnx-quick")
{
    return TorchQuick.Inference(args);
}

if (args.Length > 0 && args[0] == "serve-load")
{
    return await ServeLoad.Run(args);
}

if (args.Length > 0 && args[0] == "serve-screenshot")
{
    return ServeScreenshot.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(MlpTrainingBenchmark).Assembly).Run(args);
return 0;
