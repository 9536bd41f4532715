using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Testing;
using MLPipelines.Tests.Onnx;
using MLPipelines.Tests.Torch;
using MLPipelines.Tests.Torch.Training;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MLPipelines.Tests.Pipelines;

/// <summary>
/// README.md's C# examples, taken from the README's own text (embedded in this assembly at build time), compiled with
/// Roslyn as the top-level program of a new console project (the SDK's implicit usings, nullable enabled) against the
/// assemblies this test runs with, and run on generated images. The only change made to a block: its string literals
/// that name files in the working directory ("data/...", "*.zip", "*.onnx") are made absolute under a temporary folder
/// holding the generated <c>data/sign-language-digits</c> (the test does not change the process's current directory,
/// which parallel tests share). A README example that stops compiling or running fails here.
/// </summary>
public sealed class ReadmeExampleTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-readme-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Readme_example_compiles_trains_evaluates_and_saves()
    {
        SyntheticImages.Write(Path.Combine(_root, "data", "sign-language-digits"), ["6", "8"], perClass: 30, seed: 3, size: 28, noise: 60);

        ReadmeProgram.Run("## Compose, train and save a pipeline in C#", _root, output);

        string zip = Path.Combine(_root, "model.zip");
        string onnx = Path.Combine(_root, "mlp.onnx");
        Assert.True(File.Exists(zip), "the README example did not write model.zip");
        Assert.True(File.Exists(onnx), "the README example did not write mlp.onnx");

        // The zip reloads in a fresh context and classifies unseen generated images far above chance (50%).
        var held = SyntheticImages.Write(Path.Combine(_root, "held-out"), ["6", "8"], perClass: 20, seed: 77, size: 28, noise: 60);
        var ml = new MLContext(seed: 2);
        var rows = Directory.GetFiles(held, "*.bmp", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => new BinaryImage { ImagePath = p, Label = Path.GetFileName(Path.GetDirectoryName(p)) == "8" }).ToList();
        var scored = ml.Model.Load(zip, out _).Transform(ml.Data.LoadFromEnumerable(rows));
        var metrics = ml.BinaryClassification.Evaluate(scored);
        output.WriteLine($"reloaded model.zip on {rows.Count} unseen images: accuracy {metrics.Accuracy:P1}, AUC {metrics.AreaUnderRocCurve:F3}");
        Assert.True(metrics.Accuracy >= 0.85, $"accuracy {metrics.Accuracy} on unseen images (chance 0.5)");

        // mlp.onnx is the same network: on the zip's normalised features it gives the zip's probabilities.
        var features = scored.GetColumn<float[]>("Features").ToArray();
        var probability = scored.GetColumn<float>("Probability").ToArray();
        int d = features[0].Length;
        var standalone = OrtRunner.Run(File.ReadAllBytes(onnx), ("Features", features.SelectMany(f => f).ToArray(), [features.Length, d]))["probabilities"];
        Assert.Equal([features.Length, 1L], standalone.Shape);
        for (int i = 0; i < probability.Length; i++)
            Assert.True(Math.Abs(standalone.Floats![i] - probability[i]) <= 1e-5, $"row {i}: mlp.onnx {standalone.Floats![i]} vs model.zip {probability[i]}");
    }

    private sealed class BinaryImage
    {
        public string ImagePath { get; set; } = "";

        public bool Label { get; set; }
    }
}

/// <summary>
/// The README's TorchSharp example, extracted, compiled and run like <see cref="ReadmeExampleTests"/>; in the torch-training
/// collection because training draws from libtorch's process-wide random generator.
/// </summary>
[Collection(TorchTrainingCollection.Name)]
public sealed class ReadmeTorchExampleTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlpipelines-readme-torch-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [TorchFact]
    public void Readme_torchsharp_example_compiles_trains_and_saves_a_zip_that_reloads()
    {
        string[] classes = ["0", "1", "2"];
        SyntheticImages.Write(Path.Combine(_root, "data", "sign-language-digits"), classes, perClass: 24, seed: 5, size: 32, noise: 40);

        ReadmeProgram.Run("### Your own TorchSharp network in an ML.NET chain", _root, output);

        string zip = Path.Combine(_root, "torch-model.zip");
        Assert.True(File.Exists(zip), "the README example did not write torch-model.zip");
        var held = SyntheticImages.Write(Path.Combine(_root, "held-out"), classes, perClass: 10, seed: 55, size: 32, noise: 40);
        var ml = new MLContext(seed: 2);
        var rows = Directory.GetFiles(held, "*.bmp", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => new TextImage { ImagePath = p, Label = Path.GetFileName(Path.GetDirectoryName(p))! }).ToList();
        var predicted = ml.Model.Load(zip, out _).Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<string>("PredictedLabel").ToArray();
        double accuracy = rows.Zip(predicted).Count(p => p.First.Label == p.Second) / (double)rows.Count;
        output.WriteLine($"reloaded torch-model.zip on {rows.Count} unseen images: accuracy {accuracy:P1}");
        Assert.True(accuracy >= 0.8, $"accuracy {accuracy} on unseen images (chance 1/3)");
    }

    private sealed class TextImage
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }
}

/// <summary>Extracts, compiles and runs a C# block of README.md as a console program's top-level statements.</summary>
internal static class ReadmeProgram
{
    /// <summary>The usings a new SDK console project (ImplicitUsings enabled) declares.</summary>
    private const string ImplicitUsings =
        "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
        "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";

    /// <summary>README.md as this test assembly was built with it.</summary>
    public static string Readme()
    {
        using var stream = typeof(ReadmeProgram).Assembly.GetManifestResourceStream("README.md")
            ?? throw new InvalidOperationException("README.md is not embedded in the test assembly (see MLPipelines.Tests.csproj).");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The first <c>```csharp</c> block after the heading line <paramref name="heading"/>, and the README line it starts on (1-based).</summary>
    public static (string Code, int FirstLine) CSharpBlockUnder(string markdown, string heading)
    {
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        int h = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        if (h < 0) throw new XunitException($"README.md has no heading line '{heading}'.");
        int start = Array.FindIndex(lines, h + 1, l => l.TrimEnd() == "```csharp");
        if (start < 0) throw new XunitException($"README.md has no ```csharp block after '{heading}'.");
        int end = Array.FindIndex(lines, start + 1, l => l.TrimEnd() == "```");
        if (end < 0) throw new XunitException($"The ```csharp block on README.md line {start + 1} is not closed.");
        return (string.Join('\n', lines[(start + 1)..end]), start + 2);
    }

    /// <summary>Extracts the block under <paramref name="heading"/>, makes its working-directory paths absolute under <paramref name="root"/>, compiles and runs it.</summary>
    public static void Run(string heading, string root, ITestOutputHelper output)
    {
        var (code, firstLine) = CSharpBlockUnder(Readme(), heading);
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var substituted = new List<string>();
        var tree = CSharpSyntaxTree.Create(
            (CSharpSyntaxNode)new WorkingDirectoryPaths(root, substituted).Visit(CSharpSyntaxTree.ParseText(code, parse).GetRoot()),
            parse, path: "README.md");
        output.WriteLine($"README.md line {firstLine}: {code.Split('\n').Length} lines; paths made absolute under {root}: {string.Join(", ", substituted)}");
        Assert.Contains("data/sign-language-digits", substituted);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        string[] trusted = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var compilation = CSharpCompilation.Create(
            "ReadmeExample" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse), tree],
            trusted.Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Select(p => MetadataReference.CreateFromFile(p)),
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, optimizationLevel: OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Enable));
        using var pe = new MemoryStream();
        var emitted = compilation.Emit(pe);
        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"README.md line {firstLine + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id} {d.GetMessage()}").ToList();
        if (!emitted.Success)
            throw new XunitException($"The C# block under '{heading}' does not compile:\n{string.Join('\n', errors)}");

        // The default load context: ML.NET emits code over the block's anonymous row types, which a collectible assembly would forbid.
        var entry = Assembly.Load(pe.ToArray()).EntryPoint ?? throw new XunitException("The compiled README block has no entry point.");
        output.WriteLine($"compiled in {clock.Elapsed.TotalSeconds:F1} s against {trusted.Length} assemblies");
        clock.Restart();
        try
        {
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        output.WriteLine($"ran in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Rewrites string literals naming files relative to the working directory as absolute paths under a root.</summary>
    private sealed class WorkingDirectoryPaths(string root, List<string> substituted) : CSharpSyntaxRewriter
    {
        public override SyntaxNode? VisitLiteralExpression(LiteralExpressionSyntax node)
        {
            string value = node.Token.ValueText;
            if (!node.IsKind(SyntaxKind.StringLiteralExpression) || Path.IsPathRooted(value)
                || !(value.StartsWith("data/", StringComparison.Ordinal) || Path.GetExtension(value) is ".zip" or ".onnx" or ".npz"))
                return base.VisitLiteralExpression(node);
            substituted.Add(value);
            return SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(Path.Combine(root, value))).WithTriviaFrom(node);
        }
    }
}
