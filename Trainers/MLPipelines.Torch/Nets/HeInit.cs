using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Nets;

/// <summary>
/// Weight initialisation helpers. They draw from TorchSharp's global generator, so the result is deterministic once the
/// caller has seeded it (see <see cref="TorchSeed.Set"/>).
/// </summary>
public static class HeInit
{
    /// <summary>
    /// He (Kaiming) normal initialisation of a convolution for ReLU networks: weight ~ N(0, 2 / fan_out), fan_out =
    /// out_channels * kernel area / groups; bias set to zero. Returns <paramref name="conv"/>.
    /// </summary>
    /// <typeparam name="T">The convolution type.</typeparam>
    /// <param name="conv">The convolution to initialise in place.</param>
    /// <returns><paramref name="conv"/>.</returns>
    public static T Conv<T>(T conv) where T : Convolution
    {
        ArgumentNullException.ThrowIfNull(conv);
        using var _ = no_grad();
        nn.init.kaiming_normal_(conv.weight!, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
        if (conv.bias is { } b) nn.init.zeros_(b);
        return conv;
    }
}

/// <summary>
/// Seeding for reproducible networks. Every module in this namespace initialises its weights from TorchSharp's global
/// random generator when it is constructed and never seeds it itself: the caller seeds, e.g.
/// <c>TorchSeed.Set(42); var net = ConvNet.Create(ConvNetOptions.Plain3(10));</c> gives identical weights on every run
/// (on the same device and TorchSharp version).
/// </summary>
public static class TorchSeed
{
    /// <summary>Seeds TorchSharp's global random generator (<c>torch.random.manual_seed</c>), used by weight init, dropout and <c>rand*</c>.</summary>
    /// <param name="seed">The seed.</param>
    public static void Set(long seed) => torch.random.manual_seed(seed);
}
