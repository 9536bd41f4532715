using System.Reflection;

namespace MLPipelines.Testing;

/// <summary>
/// Finds the shared real datasets and pretrained models for tests, from the environment only, and skips the calling
/// test (reported as SKIPPED, with the reason) when they are absent. Nothing is searched for by walking up from the
/// test assembly: a run without <c>MLPIPELINES_DATA</c> runs none of the real-data tests, wherever the checkout lies.
/// A relative path in the variables is taken relative to the repository root, where the README's test command
/// (<c>MLPIPELINES_DATA=../shared/datasets dotnet test ...</c>) runs; the test host itself runs in the build output folder.
/// Shared (linked) by the test projects; each stamps the repository root into its assembly (<c>RepositoryRoot</c> metadata).
/// </summary>
internal static class TestData
{
    /// <summary>Environment variable naming the folder that holds the dataset folders (the product's <c>DatasetLocator.EnvironmentVariable</c>).</summary>
    public const string DataEnvironmentVariable = "MLPIPELINES_DATA";

    /// <summary>Environment variable naming the folder that holds shared pretrained models (the product's <c>KnnExperimentOptions.ModelsEnvironmentVariable</c>).</summary>
    public const string ModelsEnvironmentVariable = "MLPIPELINES_MODELS";

    /// <summary>The datasets root (the folder holding e.g. <c>sign-language-digits/</c>) named by MLPIPELINES_DATA, or null with the reason.</summary>
    public static string? FindDatasetsRoot(out string reason)
    {
        string? env = Environment.GetEnvironmentVariable(DataEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env))
        {
            reason = $"real datasets not available: {DataEnvironmentVariable} is not set";
            return null;
        }
        string full = FromEnvironment(env);
        if (!Directory.Exists(full))
        {
            reason = $"real datasets not available: {DataEnvironmentVariable}='{full}' does not exist";
            return null;
        }
        reason = "";
        return full;
    }

    /// <summary>One dataset folder (e.g. "sign-language-digits") under MLPIPELINES_DATA (or MLPIPELINES_DATA itself when it is that folder), or null with the reason.</summary>
    public static string? FindDataset(string folderName, out string reason)
    {
        string? root = FindDatasetsRoot(out reason);
        if (root is null) return null;
        if (string.Equals(Path.GetFileName(Path.TrimEndingDirectorySeparator(root)), folderName, StringComparison.Ordinal))
            return root;
        string path = Path.Combine(root, folderName);
        if (Directory.Exists(path)) return path;
        reason = $"real dataset not available: '{path}' does not exist";
        return null;
    }

    /// <summary>The dataset folder; skips the calling test (it must be a <c>[SkippableFact]</c>) when it is absent.</summary>
    public static string RequireDataset(string folderName)
    {
        string? path = FindDataset(folderName, out string reason);
        Skip.If(path is null, reason);
        return path!;
    }

    /// <summary>
    /// A shared pretrained model file (e.g. <c>mobilenetv2-12-int8.onnx</c>): in MLPIPELINES_MODELS, or else in the
    /// <c>models</c> folder beside MLPIPELINES_DATA (the layout of <c>shared/</c>); null with the reason.
    /// </summary>
    public static string? FindModel(string fileName, out string reason)
    {
        var tried = new List<string>();
        string? models = Environment.GetEnvironmentVariable(ModelsEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(models))
            tried.Add(Path.Combine(FromEnvironment(models), fileName));
        string? data = Environment.GetEnvironmentVariable(DataEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(data))
            tried.Add(Path.GetFullPath(Path.Combine(FromEnvironment(data), "..", "models", fileName)));
        foreach (string path in tried)
        {
            if (File.Exists(path))
            {
                reason = "";
                return path;
            }
        }
        reason = tried.Count == 0
            ? $"shared model {fileName} not available: neither {ModelsEnvironmentVariable} nor {DataEnvironmentVariable} is set"
            : $"shared model {fileName} not available: not found at {string.Join(" or ", tried)}";
        return null;
    }

    /// <summary>A path from an environment variable made absolute: as it is when rooted, else under the repository root (see the class remarks).</summary>
    private static string FromEnvironment(string value)
    {
        if (Path.IsPathRooted(value)) return Path.GetFullPath(value);
        string? root = typeof(TestData).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        return string.IsNullOrEmpty(root) ? Path.GetFullPath(value) : Path.GetFullPath(Path.Combine(root, value));
    }

    /// <summary>The shared model file; skips the calling test (it must be a <c>[SkippableFact]</c>) when it is absent.</summary>
    public static string RequireModel(string fileName)
    {
        string? path = FindModel(fileName, out string reason);
        Skip.If(path is null, reason);
        return path!;
    }
}
