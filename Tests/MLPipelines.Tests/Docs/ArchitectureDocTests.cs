using System.Text.RegularExpressions;

namespace MLPipelines.Tests.Docs;

/// <summary>
/// docs/architecture.md stays true by construction: every path in `code` must exist in the repository and every type
/// name in `code` (optionally Type.Member) must be declared in its C# sources.
/// </summary>
public sealed partial class ArchitectureDocTests
{
    [Fact]
    public void Every_file_and_type_named_in_the_architecture_page_exists()
    {
        string root = RepositoryRoot();
        string page = File.ReadAllText(Path.Combine(root, "docs", "architecture.md"));
        var sources = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToList();
        var spans = CodeSpan().Matches(page).Select(m => m.Groups[1].Value).Distinct().ToList();
        var missing = new List<string>();
        int paths = 0, types = 0;
        foreach (var span in spans)
        {
            if (span.Contains('/', StringComparison.Ordinal) && !span.Contains(' ', StringComparison.Ordinal))
            {
                paths++;
                if (!File.Exists(Path.Combine(root, span)) && !Directory.Exists(Path.Combine(root, span)))
                    missing.Add(span);
            }
            else if (TypeName().Match(span) is { Success: true } m)
            {
                types++;
                string type = m.Groups[1].Value, member = m.Groups[2].Value;
                var declaring = sources.Where(s => Regex.IsMatch(s, $@"\b(class|record|struct|interface|enum)\s+{type}\b|\bdelegate\s+[\w<>?,\s]+\s{type}\(")).ToList();
                if (declaring.Count == 0 || (member.Length > 0 && !declaring.Any(s => Regex.IsMatch(s, $@"\b{member}\b"))))
                    missing.Add(span);
            }
        }
        Assert.True(paths >= 10 && types >= 40, $"the page names only {paths} paths and {types} types; did the extraction break?");
        Assert.True(missing.Count == 0, "docs/architecture.md names what does not exist: " + string.Join(", ", missing));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLPipelines.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("MLPipelines.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^([A-Z][A-Za-z0-9]+)(?:\.([A-Z][A-Za-z0-9]+))?$")]
    private static partial Regex TypeName();
}
