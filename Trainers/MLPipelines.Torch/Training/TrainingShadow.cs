using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// A second instance of the network that runs the training passes in a faster form (<see cref="TorchPrecision.BFloat16Mixed"/>,
/// <see cref="TorchTrainingSettings.ChannelsLast"/>) while the original module keeps the float32 master weights the
/// optimiser updates, validation uses and the ONNX export writes. The scheme is what torch.autocast does on the CPU
/// (TorchSharp 0.107 exposes no autocast): convolutions and linear layers get bfloat16 weights (a cast copy of the
/// masters) and bfloat16 activations, batch normalisation keeps float32 parameters and statistics (libtorch's mixed
/// bfloat16/float32 batch norm), and the loss is float32. Per step: forward and backward here, gradients cast into
/// the masters' <c>grad</c>, the optimiser's step on the masters, the new weights cast back here.
/// </summary>
internal sealed class TrainingShadow : IDisposable
{
    private readonly (Tensor Master, Tensor Shadow)[] _parameters;
    private readonly (Tensor Master, Tensor Shadow)[] _buffers;
    private readonly bool _bf16;
    private readonly bool _channelsLast;

    private TrainingShadow(nn.Module<Tensor, Tensor> shadow, (Tensor, Tensor)[] parameters, (Tensor, Tensor)[] buffers, bool bf16, bool channelsLast)
    {
        Module = shadow;
        _parameters = parameters;
        _buffers = buffers;
        _bf16 = bf16;
        _channelsLast = channelsLast;
    }

    /// <summary>The module the training passes run through.</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>Builds the shadow of <paramref name="master"/> from a second instance of the same architecture.</summary>
    /// <param name="master">The float32 module the optimiser updates.</param>
    /// <param name="factory">Creates a module with the same parameter and buffer names.</param>
    /// <param name="device">The device of <paramref name="master"/>.</param>
    /// <param name="bf16">Convolutions and linear layers in bfloat16.</param>
    /// <param name="channelsLast">Convolution weights (and the caller's inputs) in channels-last layout.</param>
    public static TrainingShadow Create(nn.Module<Tensor, Tensor> master, Func<nn.Module<Tensor, Tensor>> factory, Device device, bool bf16, bool channelsLast)
    {
        var shadow = factory() ?? throw new InvalidOperationException("The module factory returned null.");
        try
        {
            shadow.to(device);
            using (torch.no_grad())
            {
                foreach (var (_, m) in shadow.named_modules())
                {
                    if (bf16 && m is Convolution or Linear)
                        m.to(ScalarType.BFloat16);
                    if (channelsLast && m is Conv2d conv)
                    {
                        using var w = conv.weight!.detach();
                        conv.weight = new Parameter(ToChannelsLast(w), conv.weight.requires_grad);
                    }
                }
            }
            var masterParameters = master.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
            var parameters = shadow.named_parameters().Select(p => (masterParameters.TryGetValue(p.name, out var m)
                ? m : throw new ArgumentException($"The module factory built a different network: no master parameter '{p.name}'."), (Tensor)p.parameter)).ToArray();
            if (parameters.Length != masterParameters.Count)
                throw new ArgumentException("The module factory built a different network (parameter counts differ).");
            var masterBuffers = master.named_buffers().ToDictionary(b => b.name, b => b.buffer);
            var buffers = shadow.named_buffers().Where(b => masterBuffers.ContainsKey(b.name)).Select(b => (masterBuffers[b.name], b.buffer)).ToArray();
            var result = new TrainingShadow(shadow, parameters, buffers, bf16, channelsLast);
            result.PullWeights();
            result.PullBuffers();
            return result;
        }
        catch
        {
            shadow.Dispose();
            throw;
        }
    }

    /// <summary>The input batch in the shadow's form (bfloat16 and/or channels-last).</summary>
    public Tensor Input(Tensor x)
    {
        if (_bf16)
            x = x.to(ScalarType.BFloat16);
        if (_channelsLast && x.dim() == 4)
            x = ToChannelsLast(x);
        return x;
    }

    /// <summary>Copies the masters' weights (cast) and trainable flags into the shadow.</summary>
    public void PullWeights()
    {
        using var noGrad = torch.no_grad();
        foreach (var (m, s) in _parameters)
        {
            s.copy_(m);
            if (s.requires_grad != m.requires_grad)
                s.requires_grad = m.requires_grad;
        }
    }

    /// <summary>Copies the masters' buffers (batch-norm statistics) into the shadow.</summary>
    public void PullBuffers()
    {
        using var noGrad = torch.no_grad();
        foreach (var (m, s) in _buffers)
            s.copy_(m);
    }

    /// <summary>Copies the shadow's buffers (batch-norm statistics updated by the training passes) into the masters.</summary>
    public void PushBuffers()
    {
        using var noGrad = torch.no_grad();
        foreach (var (m, s) in _buffers)
            m.copy_(s);
    }

    /// <summary>Clears the shadow's gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, s) in _parameters)
        {
            var g = s.grad;
            if (g is not null)
            {
                using (torch.no_grad())
                    g.zero_();
                g.Dispose();
            }
        }
    }

    /// <summary>Casts the shadow's gradients into the masters' <c>grad</c> (float32, contiguous).</summary>
    public void PushGradients()
    {
        using var noGrad = torch.no_grad();
        foreach (var (m, s) in _parameters)
        {
            using var g = s.grad;
            if (g is null)
                continue;
            using var mg = m.grad;
            if (mg is null)
                m.grad = g.to(ScalarType.Float32).contiguous();
            else
                mg.copy_(g);
        }
    }

    /// <summary>A view of an NCHW tensor with channels-last strides (the same values).</summary>
    internal static Tensor ToChannelsLast(Tensor x)
    {
        using var nhwc = x.permute(0, 2, 3, 1);
        using var dense = nhwc.contiguous();
        return dense.permute(0, 3, 1, 2);
    }

    /// <inheritdoc />
    public void Dispose() => Module.Dispose();
}
