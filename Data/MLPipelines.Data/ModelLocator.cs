namespace MLPipelines.Data;

/// <summary>
/// Finds shared pretrained model files (e.g. <c>mobilenetv2-12-int8.onnx</c>): in the folder given by an option, else
/// in the folder named by the <see cref="EnvironmentVariable"/> environment variable. Nothing is looked up relative to
/// the working directory, so a run behaves the same from any folder.
/// </summary>
public static class ModelLocator
{
    /// <summary>Environment variable naming the folder of shared pretrained models: MLPIPELINES_MODELS.</summary>
    public const string EnvironmentVariable = "MLPIPELINES_MODELS";

    /// <summary>Finds <paramref name="fileName"/>.</summary>
    /// <param name="fileName">The model file name.</param>
    /// <param name="modelsFolder">The folder given by the option, or null to use the environment variable.</param>
    /// <param name="optionName">The option's name, for the error message.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="FileNotFoundException">The file is not there; the message names the folder, the option and the variable.</exception>
    public static string Find(string fileName, string? modelsFolder, string optionName = "--models")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        string? folder = !string.IsNullOrWhiteSpace(modelsFolder) ? modelsFolder : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(folder))
            throw new FileNotFoundException($"{fileName} not found: pass {optionName} DIR or set {EnvironmentVariable} to the folder that holds it.", fileName);
        string path = Path.GetFullPath(Path.Combine(folder, fileName));
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{fileName} was not found in '{Path.GetFullPath(folder)}' ({(modelsFolder is null ? EnvironmentVariable : optionName)}).", path);
    }
}
