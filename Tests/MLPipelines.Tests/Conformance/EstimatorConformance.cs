using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MLPipelines.Tests.Conformance;

/// <summary>What <see cref="EstimatorConformance.Check{TTransformer}"/> needs to know about an estimator besides the estimator itself.</summary>
internal sealed class ConformanceOptions
{
    /// <summary>
    /// Input columns the estimator needs. Each one, removed from the training data and then given a wrong type, must be
    /// rejected by <c>GetOutputSchema</c> and by <c>Fit</c> with an <see cref="ArgumentException"/> or
    /// <see cref="InvalidOperationException"/> whose message names it.
    /// </summary>
    public required IReadOnlyList<string> RequiredColumns { get; init; }

    /// <summary>Input columns the fitted transformer needs to score; each, removed, must be rejected by its <c>GetOutputSchema</c>. Default: none checked.</summary>
    public IReadOnlyList<string> ScoringColumns { get; init; } = [];

    /// <summary>Rows scored before and after the save/reload round trip; default the training data.</summary>
    public IDataView? ScoreData { get; init; }

    /// <summary>Largest allowed |before − after| per value, relative to max(1, |before|), for floating-point columns. Default 1e-5.</summary>
    public double Tolerance { get; init; } = 1e-5;

    /// <summary>Receives what was checked; optional.</summary>
    public ITestOutputHelper? Output { get; init; }
}

/// <summary>
/// The contract every ML.NET estimator of the project must keep, in the spirit of ML.NET's own <c>TestEstimatorCore</c>:
/// <list type="number">
/// <item>schema propagation: <c>GetOutputSchema(SchemaShape of the input)</c> promises exactly the visible columns (names,
/// vector kinds, item types, key-ness) of the fitted transformer's output schema, and <c>Transform</c> delivers that schema;</item>
/// <item>fit, transform, save to a zip with <c>mlContext.Model.Save</c>, reload with <c>mlContext.Model.Load</c> in a fresh
/// context: the same input schema, the same output schema and the same values (floating point to the tolerance);</item>
/// <item>bad input: a required column that is missing or has a wrong type is rejected, naming the column, by
/// <c>GetOutputSchema</c> and by <c>Fit</c> (and, for the scoring columns, by the fitted transformer's <c>GetOutputSchema</c>).</item>
/// </list>
/// </summary>
internal static class EstimatorConformance
{
    /// <summary>Runs every check on <paramref name="estimator"/> with <paramref name="trainData"/>; returns the fitted transformer.</summary>
    public static TTransformer Check<TTransformer>(MLContext ml, IEstimator<TTransformer> estimator, IDataView trainData, ConformanceOptions options)
        where TTransformer : class, ITransformer
    {
        var log = options.Output;
        string name = estimator.GetType().Name;

        // 1. Schema propagation.
        var promised = estimator.GetOutputSchema(ShapeOf(trainData.Schema));
        var model = estimator.Fit(trainData);
        var delivered = ShapeOf(model.GetOutputSchema(trainData.Schema));
        AssertSameShape(promised, delivered, $"{name}: GetOutputSchema vs the fitted transformer's output schema");
        var scoreData = options.ScoreData ?? trainData;
        var scored = model.Transform(scoreData);
        AssertSameShape(ShapeOf(model.GetOutputSchema(scoreData.Schema)), ShapeOf(scored.Schema), $"{name}: GetOutputSchema vs Transform");
        log?.WriteLine($"{name}: promised and delivered {string.Join(", ", delivered.Select(Describe))}");
        foreach (string note in AnnotationNotes(promised, delivered))
            log?.WriteLine($"{name}: note: {note}");

        // 2. Save, reload in a fresh context, same predictions.
        string folder = Directory.CreateTempSubdirectory("mlpipelines-conformance-").FullName;
        try
        {
            string zip = Path.Combine(folder, "model.zip");
            ml.Model.Save(model, trainData.Schema, zip);
            var fresh = new MLContext(seed: 12345);
            var loaded = fresh.Model.Load(zip, out var loadedInput);
            Assert.NotNull(loadedInput);
            AssertSameShape(ShapeOf(trainData.Schema), ShapeOf(loadedInput), $"{name}: the input schema saved in the zip");
            var rescored = loaded.Transform(scoreData);
            AssertSameShape(ShapeOf(scored.Schema), ShapeOf(rescored.Schema), $"{name}: output schema after reloading");
            long rows = 0;
            foreach (var column in scored.Schema.Where(c => !c.IsHidden))
                rows = CompareColumn(scored, rescored, column.Name, options.Tolerance, $"{name}: column '{column.Name}' after reloading");
            log?.WriteLine($"{name}: saved ({new FileInfo(zip).Length} bytes), reloaded, {rows} rows scored the same");
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }

        // 3. Bad input.
        foreach (string column in options.RequiredColumns)
        {
            Assert.True(trainData.Schema.GetColumnOrNull(column) is not null, $"required column '{column}' is not in the training data");
            var missing = ml.Transforms.DropColumns(column).Fit(trainData).Transform(trainData);
            var wrong = WithWrongType(ml, trainData, column, out string wrongType);
            foreach (var (what, data) in new[] { ("missing", missing), ($"of type {wrongType}", wrong) })
            {
                AssertRejects(() => estimator.GetOutputSchema(ShapeOf(data.Schema)), column, $"{name}.GetOutputSchema with '{column}' {what}", log);
                AssertRejects(() => estimator.Fit(data), column, $"{name}.Fit with '{column}' {what}", log);
            }
        }
        foreach (string column in options.ScoringColumns)
        {
            var missing = ml.Transforms.DropColumns(column).Fit(scoreData).Transform(scoreData);
            AssertRejects(() => model.GetOutputSchema(missing.Schema), column, $"fitted {model.GetType().Name}.GetOutputSchema with '{column}' missing", log);
        }
        return model;
    }

    private static readonly Func<DataViewSchema, SchemaShape> CreateShape =
        (Func<DataViewSchema, SchemaShape>)(typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(DataViewSchema)])
            ?? throw new InvalidOperationException("ML.NET no longer has SchemaShape.Create(DataViewSchema)"))
        .CreateDelegate(typeof(Func<DataViewSchema, SchemaShape>));

    /// <summary>
    /// The <see cref="SchemaShape"/> of a schema's visible columns, as ML.NET's own estimator tests build it: with ML.NET's
    /// <c>SchemaShape.Create</c>, which is internal (ML.NET offers no public way to get a shape from a schema, and
    /// <c>SchemaShape.Column</c> has no public constructor), so it is called through reflection.
    /// </summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) => CreateShape(schema);

    private static string Describe(SchemaShape.Column c) =>
        $"{c.Name}: {(c.IsKey ? "key " : "")}{c.Kind} {c.ItemType}";

    /// <summary>The same visible columns with the same vector kind, item type and key-ness (annotations are only reported, see <see cref="AnnotationNotes"/>).</summary>
    private static void AssertSameShape(SchemaShape expected, SchemaShape actual, string what)
    {
        var e = expected.ToDictionary(c => c.Name);
        var a = actual.ToDictionary(c => c.Name);
        var onlyExpected = e.Keys.Except(a.Keys).Order(StringComparer.Ordinal).ToList();
        var onlyActual = a.Keys.Except(e.Keys).Order(StringComparer.Ordinal).ToList();
        if (onlyExpected.Count > 0 || onlyActual.Count > 0)
            throw new XunitException($"{what}: columns differ; only promised: [{string.Join(", ", onlyExpected)}], only delivered: [{string.Join(", ", onlyActual)}]");
        foreach (var (columnName, x) in e)
        {
            var y = a[columnName];
            if (x.Kind != y.Kind || !x.ItemType.Equals(y.ItemType) || x.IsKey != y.IsKey)
                throw new XunitException($"{what}: column '{columnName}' promised as {Describe(x)}, delivered as {Describe(y)}");
        }
    }

    /// <summary>Annotations that GetOutputSchema promises on a column but the output does not carry (ML.NET's <c>IsCompatibleWith</c> would require them).</summary>
    private static IEnumerable<string> AnnotationNotes(SchemaShape promised, SchemaShape delivered)
    {
        var byName = delivered.ToDictionary(c => c.Name);
        foreach (var p in promised)
        {
            var missing = p.Annotations.Select(a => a.Name).Except(byName[p.Name].Annotations.Select(a => a.Name)).ToList();
            if (missing.Count > 0)
                yield return $"column '{p.Name}' lacks the promised annotations {string.Join(", ", missing)}";
        }
    }

    /// <summary>The data with <paramref name="column"/> replaced by a column of the same name and another type.</summary>
    private static IDataView WithWrongType(MLContext ml, IDataView data, string column, out string wrongType)
    {
        var type = data.Schema[column].Type;
        IEstimator<ITransformer> change = type switch
        {
            KeyDataViewType => ml.Transforms.Conversion.MapKeyToValue(column, column),
            VectorDataViewType { ItemType: NumberDataViewType n } when n.RawType == typeof(float) => ml.Transforms.Conversion.ConvertType(column, column, DataKind.Double),
            BooleanDataViewType or TextDataViewType => ml.Transforms.Conversion.ConvertType(column, column, DataKind.Single),
            NumberDataViewType => ml.Transforms.Conversion.ConvertType(column, column, DataKind.Boolean),
            _ => throw new XunitException($"no wrong-type replacement for column '{column}' of type {type}"),
        };
        var changed = change.Fit(data).Transform(data);
        wrongType = changed.Schema[column].Type.ToString() ?? "?";
        Assert.NotEqual(type, changed.Schema[column].Type);
        return changed;
    }

    private static void AssertRejects(Action action, string column, string what, ITestOutputHelper? log)
    {
        var e = Record.Exception(action);
        if (e is null)
            throw new XunitException($"{what}: accepted; expected an ArgumentException or InvalidOperationException naming '{column}'");
        if (e is not (ArgumentException or InvalidOperationException))
            throw new XunitException($"{what}: threw {e.GetType().Name} (expected ArgumentException or InvalidOperationException): {e.Message}");
        if (!e.Message.Contains(column, StringComparison.Ordinal))
            throw new XunitException($"{what}: the {e.GetType().Name} does not name '{column}': {e.Message}");
        log?.WriteLine($"{what}: {e.GetType().Name}: {e.Message}");
    }

    /// <summary>Compares one column of two views row by row; returns the number of rows.</summary>
    private static long CompareColumn(IDataView expected, IDataView actual, string column, double tolerance, string what)
    {
        var type = expected.Schema[column].Type;
        Type raw = type is VectorDataViewType v ? v.ItemType.RawType : type.RawType;
        return (type, raw) switch
        {
            (VectorDataViewType, _) when raw == typeof(float) => Compare(expected.GetColumn<float[]>(column), actual.GetColumn<float[]>(column), (x, y) => Close(x, y, tolerance), what),
            (VectorDataViewType, _) when raw == typeof(double) => Compare(expected.GetColumn<double[]>(column), actual.GetColumn<double[]>(column), (x, y) => Close(x, y, tolerance), what),
            (VectorDataViewType, _) => Compare(Texts(expected, column), Texts(actual, column), (x, y) => x == y, what),
            _ when raw == typeof(float) => Compare(expected.GetColumn<float>(column), actual.GetColumn<float>(column), (x, y) => Close([x], [y], tolerance), what),
            _ when raw == typeof(double) => Compare(expected.GetColumn<double>(column), actual.GetColumn<double>(column), (x, y) => Close([x], [y], tolerance), what),
            _ when raw == typeof(bool) => Compare(expected.GetColumn<bool>(column), actual.GetColumn<bool>(column), (x, y) => x == y, what),
            _ when raw == typeof(uint) => Compare(expected.GetColumn<uint>(column), actual.GetColumn<uint>(column), (x, y) => x == y, what),
            _ when raw == typeof(int) => Compare(expected.GetColumn<int>(column), actual.GetColumn<int>(column), (x, y) => x == y, what),
            _ when raw == typeof(ReadOnlyMemory<char>) => Compare(expected.GetColumn<string>(column), actual.GetColumn<string>(column), (x, y) => x == y, what),
            _ => throw new XunitException($"{what}: values of type {type} cannot be compared by this helper"),
        };
    }

    private static IEnumerable<string> Texts(IDataView data, string column) =>
        data.GetColumn<string[]>(column).Select(a => string.Join("\u241f", a));

    private static bool Close(IReadOnlyList<float> x, IReadOnlyList<float> y, double tolerance) =>
        x.Count == y.Count && x.Zip(y).All(p => p.First.Equals(p.Second) || Math.Abs(p.First - p.Second) <= tolerance * Math.Max(1, Math.Abs(p.First)));

    private static bool Close(IReadOnlyList<double> x, IReadOnlyList<double> y, double tolerance) =>
        x.Count == y.Count && x.Zip(y).All(p => p.First.Equals(p.Second) || Math.Abs(p.First - p.Second) <= tolerance * Math.Max(1, Math.Abs(p.First)));

    private static long Compare<T>(IEnumerable<T> expected, IEnumerable<T> actual, Func<T, T, bool> same, string what)
    {
        using var e = expected.GetEnumerator();
        using var a = actual.GetEnumerator();
        long row = 0;
        while (true)
        {
            bool more = e.MoveNext();
            if (more != a.MoveNext())
                throw new XunitException($"{what}: row counts differ (one view ends at row {row})");
            if (!more)
                return row;
            if (!same(e.Current, a.Current))
                throw new XunitException($"{what}: row {row} differs: {Show(e.Current)} vs {Show(a.Current)}");
            row++;
        }
    }

    private static string Show<T>(T value) => value switch
    {
        float[] f => "[" + string.Join(", ", f.Take(8)) + (f.Length > 8 ? ", ..." : "") + "]",
        double[] d => "[" + string.Join(", ", d.Take(8)) + (d.Length > 8 ? ", ..." : "") + "]",
        _ => value?.ToString() ?? "null",
    };
}
