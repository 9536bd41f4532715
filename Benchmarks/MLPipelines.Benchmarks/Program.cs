using BenchmarkDotNet.Running;
using MLPipelines.Benchmarks;

if (args.Length > 0 && (args[0] == "mlp-quick" || args[0] == "--quick"))
{
    return MlpQuick.Run(args);
}

if (args.Length > 0 && args[0] == "mlp-kernels")
{
    return MlpQuick.Kernels();
}

BenchmarkSwitcher.FromAssembly(typeof(MlpTrainingBenchmark).Assembly).Run(args);
return 0;
