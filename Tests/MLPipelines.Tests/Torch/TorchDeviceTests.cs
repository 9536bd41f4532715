using MLPipelines.Torch;
using TorchSharp;

namespace MLPipelines.Tests.Torch;

public sealed class TorchDeviceTests
{
    private sealed class ListProgress : IProgress<string>
    {
        public List<string> Messages { get; } = new();

        public void Report(string value) => Messages.Add(value);
    }

    [TorchFact]
    public void Cuda_FallsBackToCpu_WithMessage_WhenCudaIsAbsent()
    {
        var log = new ListProgress();
        torch.Device device = TorchDevice.Resolve("cuda", cudaAvailable: false, cudaDeviceCount: 0, log);
        Assert.Equal(DeviceType.CPU, device.type);
        string message = Assert.Single(log.Messages);
        Assert.Contains("CUDA is not available", message);
        Assert.Contains("using CPU", message);
    }

    [TorchFact]
    public void Auto_UsesCpu_WithMessage_WhenCudaIsAbsent()
    {
        var log = new ListProgress();
        torch.Device device = TorchDevice.Resolve("AUTO", cudaAvailable: false, cudaDeviceCount: 0, log);
        Assert.Equal(DeviceType.CPU, device.type);
        Assert.Contains("using CPU", Assert.Single(log.Messages));
    }

    [TorchFact]
    public void Cpu_IsCpu_WithoutMessage()
    {
        var log = new ListProgress();
        Assert.Equal(DeviceType.CPU, TorchDevice.Resolve("cpu", log).type);
        Assert.Empty(log.Messages);
    }

    [TorchFact]
    public void Cuda_OnThisMachine_ResolvesOrFallsBack()
    {
        var log = new ListProgress();
        torch.Device device = TorchDevice.Resolve("cuda", log);
        if (torch.cuda.is_available())
        {
            Assert.Equal(DeviceType.CUDA, device.type);
            return;
        }
        Assert.Equal(DeviceType.CPU, device.type);
        string message = Assert.Single(log.Messages);
        Assert.Contains(TorchRuntime.IsCudaBuild ? "on this machine" : "in this build", message);
        Assert.Contains("using CPU", message);
    }

    [TorchFact]
    public void Cuda_WhenAvailable_PicksTheIndex()
    {
        Assert.Equal(DeviceType.CUDA, TorchDevice.Resolve("cuda:1", cudaAvailable: true, cudaDeviceCount: 2, null).type);
        Assert.Equal(1, TorchDevice.Resolve("cuda:1", cudaAvailable: true, cudaDeviceCount: 2, null).index);
        Assert.Throws<ArgumentException>(() => TorchDevice.Resolve("cuda:2", cudaAvailable: true, cudaDeviceCount: 2, null));
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void UnknownRequest_Throws(string request)
    {
        Assert.Throws<ArgumentException>(() => TorchDevice.Resolve(request, cudaAvailable: false, cudaDeviceCount: 0, null));
    }
}
