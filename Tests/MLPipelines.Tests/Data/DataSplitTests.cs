using MLPipelines.Data;

namespace MLPipelines.Tests.Data;

public sealed class DataSplitTests
{
    private static List<(int Id, string Label)> Items(params (string Label, int Count)[] classes)
    {
        var list = new List<(int, string)>();
        int id = 0;
        foreach (var (label, count) in classes)
            for (int i = 0; i < count; i++) list.Add((id++, label));
        // interleave so that order is not grouped by class
        return list.OrderBy(t => (t.Item1 * 7919) % 1009).ToList();
    }

    [Fact]
    public void Stratified_ProportionsPerClass()
    {
        var items = Items(("a", 100), ("b", 50), ("c", 10));
        var split = DataSplit.Stratified(items, t => t.Label, 0.1, 0.2, seed: 42);

        int Count(IReadOnlyList<(int, string Label)> l, string c) => l.Count(t => t.Label == c);
        Assert.Equal(70, Count(split.Train, "a")); Assert.Equal(10, Count(split.Validation, "a")); Assert.Equal(20, Count(split.Test, "a"));
        Assert.Equal(35, Count(split.Train, "b")); Assert.Equal(5, Count(split.Validation, "b")); Assert.Equal(10, Count(split.Test, "b"));
        Assert.Equal(7, Count(split.Train, "c")); Assert.Equal(1, Count(split.Validation, "c")); Assert.Equal(2, Count(split.Test, "c"));

        var all = split.Train.Concat(split.Validation).Concat(split.Test).Select(t => t.Id).ToList();
        Assert.Equal(items.Count, all.Count);
        Assert.Equal(items.Count, all.Distinct().Count());
        // original relative order is kept within a split
        var pos = items.Select((t, i) => (t.Id, i)).ToDictionary(p => p.Id, p => p.i);
        Assert.True(split.Train.Select(t => pos[t.Id]).SequenceEqual(split.Train.Select(t => pos[t.Id]).Order()));
    }

    [Fact]
    public void Stratified_IsDeterministicForASeed()
    {
        var items = Items(("6", 186), ("8", 186));
        var s1 = DataSplit.Stratified(items, t => t.Label, 0.0, 0.2, seed: 7);
        var s2 = DataSplit.Stratified(items, t => t.Label, 0.0, 0.2, seed: 7);
        var s3 = DataSplit.Stratified(items, t => t.Label, 0.0, 0.2, seed: 8);
        Assert.Equal(s1.Test.Select(t => t.Id), s2.Test.Select(t => t.Id));
        Assert.Equal(s1.Train.Select(t => t.Id), s2.Train.Select(t => t.Id));
        Assert.NotEqual(s1.Test.Select(t => t.Id), s3.Test.Select(t => t.Id));
        Assert.Empty(s1.Validation);
        Assert.Equal(74, s1.Test.Count); // round(186 * 0.2) = 37 per class
    }

    [Fact]
    public void Stratified_SmallClassesStillReachEverySplit()
    {
        var items = Items(("big", 40), ("three", 3), ("two", 2), ("one", 1));
        var s = DataSplit.Stratified(items, t => t.Label, 0.05, 0.05, seed: 1);
        Assert.Equal(1, s.Validation.Count(t => t.Label == "three"));
        Assert.Equal(1, s.Test.Count(t => t.Label == "three"));
        Assert.Equal(1, s.Train.Count(t => t.Label == "three"));
        Assert.Equal(1, s.Train.Count(t => t.Label == "two"));
        Assert.Equal(1, s.Test.Count(t => t.Label == "two"));
        Assert.Equal(1, s.Train.Count(t => t.Label == "one"));
        Assert.Equal(2, s.Validation.Count(t => t.Label == "big"));
    }

    [Theory]
    [InlineData(-0.1, 0.2, "validationFraction")]
    [InlineData(0.1, 1.0, "testFraction")]
    [InlineData(double.NaN, 0.2, "validationFraction")]
    [InlineData(0.5, 0.5, "testFraction")]
    public void Stratified_BadFractions_NameTheParameter(double val, double test, string param)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.Stratified(new[] { 1, 2 }, i => "x", val, test, 0));
        Assert.Equal(param, ex.ParamName);
    }
}
