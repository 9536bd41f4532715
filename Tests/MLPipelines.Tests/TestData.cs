using MLPipelines.Data;
using Xunit.Abstractions;

namespace MLPipelines.Tests;

/// <summary>
/// Finds the shared real datasets for tests, or explains why they are absent so the test can return early.
/// Order: the MLPIPELINES_DATA environment variable; then, walking up from the test assembly folder, the
/// first ancestor holding <c>shared/datasets</c>; then <c>../shared/datasets</c> beside the repository root.
/// </summary>
public static class TestData
{
    /// <summary>Finds the datasets root (the folder holding e.g. <c>sign-language-digits/</c>), or null with the reason.</summary>
    public static string? FindDatasetsRoot(out string reason)
    {
        var tried = new List<string>();
        string? env = Environment.GetEnvironmentVariable(DatasetLocator.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            string full = Path.GetFullPath(env);
            if (Directory.Exists(full))
            {
                reason = "";
                return full;
            }
            tried.Add($"{DatasetLocator.EnvironmentVariable}='{full}'");
        }

        string? repoRoot = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "datasets");
            tried.Add(candidate);
            if (Directory.Exists(candidate))
            {
                reason = "";
                return candidate;
            }
            if (repoRoot is null && (File.Exists(Path.Combine(dir.FullName, "MLPipelines.sln")) || Directory.Exists(Path.Combine(dir.FullName, ".git"))
                                     || File.Exists(Path.Combine(dir.FullName, ".git"))))
                repoRoot = dir.FullName;
        }
        if (repoRoot is not null)
        {
            string beside = Path.GetFullPath(Path.Combine(repoRoot, "..", "shared", "datasets"));
            tried.Add(beside);
            if (Directory.Exists(beside))
            {
                reason = "";
                return beside;
            }
        }
        reason = $"Real datasets not found (set {DatasetLocator.EnvironmentVariable}); tried: {string.Join(", ", tried.Distinct())}";
        return null;
    }

    /// <summary>Finds one dataset folder (e.g. "sign-language-digits"), or null with the reason.</summary>
    public static string? FindDataset(string folderName, out string reason)
    {
        string? root = FindDatasetsRoot(out reason);
        if (root is null) return null;
        if (string.Equals(Path.GetFileName(Path.TrimEndingDirectorySeparator(root)), folderName, StringComparison.Ordinal))
            return root;
        string path = Path.Combine(root, folderName);
        if (Directory.Exists(path)) return path;
        reason = $"Dataset folder '{path}' does not exist.";
        return null;
    }

    /// <summary>
    /// Returns the dataset folder, or writes "SKIPPED: reason" to the test output and returns null
    /// (xunit 2 has no dynamic skip: the caller returns early).
    /// </summary>
    public static string? DatasetOrSkip(string folderName, ITestOutputHelper output)
    {
        string? path = FindDataset(folderName, out string reason);
        if (path is null) output.WriteLine("SKIPPED: " + reason);
        return path;
    }
}
