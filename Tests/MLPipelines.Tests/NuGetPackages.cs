using System.Reflection;
using System.Text.Json;

namespace MLPipelines.Tests;

/// <summary>
/// Where restored NuGet packages lie, as the build saw it: the packages root is MSBuild's <c>NuGetPackageRoot</c>
/// (from the restore's generated props), stamped into this assembly by the project file, and a package's folder under it
/// is the <c>path</c> its entry has in this assembly's <c>.deps.json</c> (so the version is the one actually restored).
/// </summary>
internal static class NuGetPackages
{
    /// <summary>The NuGet packages root this test assembly was built against, or null when the build did not record one.</summary>
    public static string? Root =>
        typeof(NuGetPackages).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value is { Length: > 0 } root ? root : null;

    /// <summary>The restored folder of package <paramref name="id"/> (e.g. "TorchSharp"), or null with the reason.</summary>
    public static string? FindFolder(string id, out string reason)
    {
        if (Root is not { } root)
        {
            reason = "the build recorded no NuGetPackageRoot in the test assembly";
            return null;
        }
        string deps = Path.ChangeExtension(typeof(NuGetPackages).Assembly.Location, ".deps.json");
        if (!File.Exists(deps))
        {
            reason = $"'{deps}' does not exist";
            return null;
        }
        using var json = JsonDocument.Parse(File.ReadAllText(deps));
        foreach (var library in json.RootElement.GetProperty("libraries").EnumerateObject())
        {
            if (!library.Name.StartsWith(id + "/", StringComparison.OrdinalIgnoreCase)
                || !library.Value.TryGetProperty("type", out var type) || type.GetString() != "package"
                || !library.Value.TryGetProperty("path", out var path) || path.GetString() is not { } relative)
                continue;
            string folder = Path.Combine(root, relative);
            if (Directory.Exists(folder))
            {
                reason = "";
                return folder;
            }
            reason = $"package {library.Name} is not at '{folder}' (restored from a fallback folder?)";
            return null;
        }
        reason = $"package {id} is not listed in '{deps}'";
        return null;
    }
}
