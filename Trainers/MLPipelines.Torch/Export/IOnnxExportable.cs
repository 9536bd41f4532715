using MLPipelines.Onnx;

namespace MLPipelines.Torch.Export;

/// <summary>
/// A TorchSharp module that writes its own inference graph into ONNX. <see cref="TorchOnnxExporter"/> calls
/// <see cref="WriteOnnx"/> for every module implementing this interface, before looking at TorchSharp's built-in types,
/// so project building blocks (and user layers) can be exported without changing the exporter.
/// </summary>
public interface IOnnxExportable
{
    /// <summary>
    /// Adds the nodes (and initializers) that compute this module's eval-mode forward pass on <paramref name="input"/>
    /// and returns the name of the output tensor (which may be <paramref name="input"/> itself for an identity).
    /// </summary>
    /// <param name="g">The graph under construction; <paramref name="input"/> is already defined in it.</param>
    /// <param name="input">Name of the input tensor.</param>
    /// <param name="prefix">This module's path in the module tree (e.g. "net.features.3"); use it to name values and
    /// pass <c>prefix + "." + childName</c> to <see cref="TorchOnnxExporter.WriteModule"/> for submodules.</param>
    string WriteOnnx(OnnxGraphBuilder g, string input, string prefix);
}
