namespace MLPipelines.Data;

/// <summary>
/// Finds dataset folders. The data root comes from an explicit option (for example the CLI's
/// <c>--data</c>) or, when that is absent, from the <see cref="EnvironmentVariable"/> environment variable.
/// Either may name the data root (the folder holding e.g. <c>sign-language-digits/</c>) or the dataset folder itself.
/// </summary>
public static class DatasetLocator
{
    /// <summary>Environment variable holding the data root when no option is given.</summary>
    public const string EnvironmentVariable = "MLPIPELINES_DATA";

    /// <summary>Default name of the command-line option used in error messages.</summary>
    public const string DefaultOptionName = "--data";

    /// <summary>
    /// Returns the data root: <paramref name="dataRootOption"/> when it is non-empty, otherwise the value of
    /// <see cref="EnvironmentVariable"/>, otherwise <see langword="null"/>. The path is not checked.
    /// </summary>
    /// <param name="dataRootOption">Explicit data root, or <see langword="null"/>.</param>
    /// <returns>The full path of the data root, or <see langword="null"/> when neither source gives one.</returns>
    public static string? ResolveDataRoot(string? dataRootOption)
    {
        if (!string.IsNullOrWhiteSpace(dataRootOption)) return Path.GetFullPath(dataRootOption);
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env) ? null : Path.GetFullPath(env);
    }

    /// <summary>
    /// Resolves a dataset folder. Tried in order: <c>root/datasetFolderName</c>, then <c>root</c> itself when its
    /// folder name is <paramref name="datasetFolderName"/>, where root is the option or, if it is absent, the
    /// environment variable. An explicit option that does not resolve is an error (no fallback to the variable).
    /// </summary>
    /// <param name="datasetFolderName">Dataset folder name, e.g. <c>sign-language-digits</c>.</param>
    /// <param name="dataRootOption">Explicit data root or dataset folder, or <see langword="null"/>.</param>
    /// <param name="optionName">Name of the option for error messages.</param>
    /// <returns>The full path of the existing dataset folder.</returns>
    /// <exception cref="DirectoryNotFoundException">Nothing resolves; the message names the option or variable and the paths tried.</exception>
    public static string ResolveDataset(string datasetFolderName, string? dataRootOption, string optionName = DefaultOptionName)
    {
        if (TryResolveDataset(datasetFolderName, dataRootOption, out string path, out string reason, optionName)) return path;
        throw new DirectoryNotFoundException(reason);
    }

    /// <summary>Like <see cref="ResolveDataset"/>, but reports failure instead of throwing (for tests that skip).</summary>
    /// <param name="datasetFolderName">Dataset folder name, e.g. <c>sign-language-digits</c>.</param>
    /// <param name="dataRootOption">Explicit data root or dataset folder, or <see langword="null"/>.</param>
    /// <param name="datasetPath">The dataset folder when found; empty otherwise.</param>
    /// <param name="reason">Why nothing was found (names the source and the paths tried); empty on success.</param>
    /// <param name="optionName">Name of the option for messages.</param>
    /// <returns>Whether the dataset folder was found.</returns>
    public static bool TryResolveDataset(string datasetFolderName, string? dataRootOption, out string datasetPath, out string reason,
        string optionName = DefaultOptionName) =>
        TryResolveDataset(datasetFolderName, dataRootOption, Environment.GetEnvironmentVariable(EnvironmentVariable),
            out datasetPath, out reason, optionName);

    /// <summary>Core of <see cref="TryResolveDataset(string, string?, out string, out string, string)"/> with the variable's value passed in (tests).</summary>
    internal static bool TryResolveDataset(string datasetFolderName, string? dataRootOption, string? environmentValue,
        out string datasetPath, out string reason, string optionName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(datasetFolderName);
        datasetPath = "";
        string source;
        string? root;
        if (!string.IsNullOrWhiteSpace(dataRootOption))
        {
            source = $"option {optionName} = '{dataRootOption}'";
            root = Path.GetFullPath(dataRootOption);
        }
        else
        {
            string? env = environmentValue;
            if (string.IsNullOrWhiteSpace(env))
            {
                reason = $"Dataset '{datasetFolderName}' not found: no data root given. Pass {optionName} <folder> or set the " +
                         $"environment variable {EnvironmentVariable} to the folder that holds '{datasetFolderName}/'.";
                return false;
            }
            source = $"environment variable {EnvironmentVariable} = '{env}'";
            root = Path.GetFullPath(env);
        }

        var tried = new List<string>();
        string candidate = Path.Combine(root, datasetFolderName);
        tried.Add(candidate);
        if (Directory.Exists(candidate))
        {
            datasetPath = candidate;
            reason = "";
            return true;
        }
        string trimmed = Path.TrimEndingDirectorySeparator(root);
        tried.Add(trimmed);
        if (string.Equals(Path.GetFileName(trimmed), datasetFolderName, StringComparison.Ordinal) && Directory.Exists(trimmed))
        {
            datasetPath = trimmed;
            reason = "";
            return true;
        }
        reason = $"Dataset '{datasetFolderName}' not found from {source}. Paths tried: " +
                 string.Join(", ", tried.Select(t => $"'{t}'")) +
                 $". Point {optionName} or {EnvironmentVariable} at the data root (holding '{datasetFolderName}/') or at the dataset folder itself.";
        return false;
    }
}
