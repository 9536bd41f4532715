using MLPipelines.Torch;
using MLPipelines.Torch.Native;
using Xunit.Abstractions;

namespace MLPipelines.Tests.Torch;

/// <summary>Checks the build-time fix on the real libLibTorchSharp.so copies, and that TorchSharp then works.</summary>
public sealed class TorchNativeFixTests(ITestOutputHelper output)
{
    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [SkippableFact]
    public void BuildOutputCopy_IsPatched_WhenTheSystemLibStdCxxLacksTheVersion()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the native-library fix concerns Linux only");
        Assert.True(File.Exists(OutputCopy), $"expected TorchSharp's native library at {OutputCopy}");
        ElfVersionNeedInfo info = ElfVersionNeedPatcher.Inspect(File.ReadAllBytes(OutputCopy), what: OutputCopy);
        string? lib = SystemLibStdCxx.Find();
        bool systemHasIt = lib is not null && SystemLibStdCxx.ProvidesVersion(lib);
        output.WriteLine($"system libstdc++: {lib ?? "(none)"}, provides {ElfVersionNeedPatcher.DefaultVersionName}: {systemHasIt}; " +
                         $"output copy requires it: {info.Found}, weak: {info.IsWeak}, bound symbols: {string.Join(",", info.BoundSymbols)}");
        if (info.Found && !systemHasIt)
            Assert.True(info.IsWeak, "the build should have marked GLIBCXX_3.4.32 weak in the output copy (build/TorchSharpNativeFix.targets)");
    }

    [SkippableFact]
    public void NuGetCacheCopy_IsNeverPatched()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the native-library fix concerns Linux only");
        string? package = NuGetPackages.FindFolder("TorchSharp", out string reason);
        Skip.If(package is null, "TorchSharp's restored package folder not found: " + reason);
        string cached = Path.Combine(package, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"{cached} is missing from the restored package");
        Assert.False(ElfVersionNeedPatcher.Inspect(File.ReadAllBytes(cached), what: cached).IsWeak, $"{cached} was modified");
    }

    [TorchFact]
    public void PatchedLibrary_Loads_And_Matmul64_MatchesScalarLoop()
    {
        const int n = 64;
        var rng = new Random(42);
        float[] a = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        using var ta = TorchSharp.torch.tensor(a, new long[] { n, n });
        using var tb = TorchSharp.torch.tensor(b, new long[] { n, n });
        using var tc = TorchSharp.torch.matmul(ta, tb);
        float[] c = tc.data<float>().ToArray();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = 0;
                for (int k = 0; k < n; k++)
                    expected += (double)a[i * n + k] * b[k * n + j];
                Assert.True(Math.Abs(c[i * n + j] - expected) <= 1e-4, $"c[{i},{j}] = {c[i * n + j]}, expected {expected}");
            }
        }
    }
}
