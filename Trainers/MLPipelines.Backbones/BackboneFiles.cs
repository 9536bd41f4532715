namespace MLPipelines.Backbones;

/// <summary>
/// Locates the pretrained model files that NuGet packages copy next to the application.
/// The package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (MIT license, © .NET Foundation) ships
/// <c>ResNet18.onnx</c> and <c>ResNetPreprocess.onnx</c>; its build props copy them to the output folder under
/// <c>DnnImageModels/ResNet18Onnx/</c> and <c>DnnImageModels/ResNetPrepOnnx/</c>. A project that references
/// <c>MLPipelines.Backbones</c> gets them copied to its own output as well.
/// </summary>
public static class BackboneFiles
{
    /// <summary>Folder name (under the application folder) holding the packaged models.</summary>
    public const string ModelsFolderName = "DnnImageModels";

    /// <summary>Full path of ML.NET's ImageNet ResNet-18 (<c>DnnImageModels/ResNet18Onnx/ResNet18.onnx</c> next to the app).</summary>
    /// <exception cref="FileNotFoundException">The file is not there; the message says which package to reference.</exception>
    public static string ResNet18Path => Find(Path.Combine("ResNet18Onnx", "ResNet18.onnx"));

    /// <summary>Full path of ML.NET's ResNet-18 preprocessing model (<c>DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx</c>).</summary>
    /// <exception cref="FileNotFoundException">The file is not there; the message says which package to reference.</exception>
    public static string ResNetPreprocessPath => Find(Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    /// <summary>True when both ResNet-18 files are present next to the application.</summary>
    public static bool HasResNet18 =>
        File.Exists(Path.Combine(AppContext.BaseDirectory, ModelsFolderName, "ResNet18Onnx", "ResNet18.onnx"))
        && File.Exists(Path.Combine(AppContext.BaseDirectory, ModelsFolderName, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    private static string Find(string relative)
    {
        string path = Path.Combine(AppContext.BaseDirectory, ModelsFolderName, relative);
        if (File.Exists(path)) return path;
        throw new FileNotFoundException(
            $"Pretrained model file '{path}' is missing. It comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 "
            + "(MIT license), whose build props copy DnnImageModels/** to the output folder of the project that references it: "
            + "reference MLPipelines.Backbones (or that package) from the application project and build it again.", path);
    }
}
