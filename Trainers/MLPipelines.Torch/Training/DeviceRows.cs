using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// The rows of a <see cref="TorchDataset"/> resident on the device, once: a float tensor [N, D], or for 8-bit coded
/// rows a uint8 tensor [N, D] plus the 256 levels, decoded to floats one batch at a time (<see cref="Select"/>,
/// <see cref="Narrow"/>). A 224-px RGB image then costs 150,528 bytes instead of 602,112.
/// </summary>
internal sealed class DeviceRows : IDisposable
{
    private readonly Tensor _x;
    private readonly Tensor? _levels;

    private DeviceRows(Tensor x, Tensor? levels, Tensor labels)
    {
        _x = x;
        _levels = levels;
        Labels = labels;
    }

    /// <summary>The 0-based labels [N] (int64) on the device.</summary>
    public Tensor Labels { get; }

    /// <summary>The device the rows are on.</summary>
    public Device Device => _x.device;

    /// <summary>Copies rows [start, start + count) of <paramref name="data"/> (all rows when count is null) to <paramref name="device"/>.</summary>
    public static DeviceRows Create(TorchDataset data, Device device, int start = 0, int? count = null)
    {
        int n = count ?? data.Count - start;
        int d = data.FeatureCount;
        var labels64 = new long[n];
        for (int i = 0; i < n; i++)
            labels64[i] = data.Labels[start + i];
        Tensor labels;
        using (var y = torch.tensor(labels64))
            labels = y.to(device, copy: true);

        if (data.Codes is { } codes)
        {
            var levels = torch.tensor(data.Levels!).to(device, copy: true);
            if (device.type == DeviceType.CPU && n > 0)
            {
                // On the CPU the tensor views the managed codes in place (pinned while the tensor lives): one byte copy
                // of the images in the process, about 0.8 GB for 5,288 RGB images at 224 px. Only gathers read it, so
                // the managed array's alignment cannot change any result.
                var shared = torch.frombuffer(codes, ScalarType.Byte, count: (long)n * d, offset: (long)start * d);
                var view = shared.view(n, d);
                shared.Dispose();
                return new DeviceRows(view, levels, labels);
            }
            // Elsewhere one uint8 tensor filled in slices on the device; the float values never exist for more than one batch.
            var x = torch.empty([n, d], ScalarType.Byte, device);
            FillInSlices(x, Math.Max(1, (1 << 24) / d), (s, c) => torch.tensor(codes.AsSpan((start + s) * d, c * d).ToArray(), [c, d]));
            return new DeviceRows(x, levels, labels);
        }

        // One libtorch-allocated (aligned) tensor on the device, filled in slices: no second full-size copy, and the same
        // storage alignment in every run, so kernels take the same code paths and results stay bit-reproducible (a
        // tensor over a copied managed array is not aligned the same way from run to run).
        var features = data.Features;
        var xf = torch.empty([n, d], ScalarType.Float32, device);
        FillInSlices(xf, Math.Max(1, (1 << 22) / d), (s, c) => torch.tensor(features.AsSpan((start + s) * d, c * d).ToArray(), [c, d]));
        return new DeviceRows(xf, null, labels);
    }

    /// <summary>Copies rows into <paramref name="target"/> [N, D] in slices of <paramref name="sliceRows"/> rows; <paramref name="source"/>(first row, rows) makes one slice's CPU tensor.</summary>
    private static void FillInSlices(Tensor target, int sliceRows, Func<int, int, Tensor> source)
    {
        int n = (int)target.shape[0];
        for (int s = 0; s < n; s += sliceRows)
        {
            int c = Math.Min(sliceRows, n - s);
            using var rows = target.narrow(0, s, c);
            using var slice = source(s, c);
            rows.copy_(slice);
        }
    }

    /// <summary>The rows at <paramref name="index"/> as floats [B, D] (a new tensor in the caller's dispose scope).</summary>
    public Tensor Select(Tensor index) => Decode(_x.index_select(0, index));

    /// <summary>Rows [start, start + count) as floats [count, D] (a view for float rows, a new tensor for codes).</summary>
    public Tensor Narrow(long start, long count) => Decode(_x.narrow(0, start, count));

    private Tensor Decode(Tensor rows)
    {
        if (_levels is null)
            return rows;
        var shape = rows.shape;
        using var codes = rows.to(ScalarType.Int64);
        rows.Dispose();
        using var flat = codes.view(-1);
        using var values = _levels.index_select(0, flat);
        return values.view(shape);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _x.Dispose();
        _levels?.Dispose();
        Labels.Dispose();
    }
}
