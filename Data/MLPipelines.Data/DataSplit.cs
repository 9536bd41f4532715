namespace MLPipelines.Data;

/// <summary>The three parts of a dataset split.</summary>
/// <typeparam name="T">Item type.</typeparam>
/// <param name="Train">Training items.</param>
/// <param name="Validation">Validation items (empty when the validation fraction is 0).</param>
/// <param name="Test">Test items (empty when the test fraction is 0).</param>
public sealed record SplitResult<T>(IReadOnlyList<T> Train, IReadOnlyList<T> Validation, IReadOnlyList<T> Test);

/// <summary>Deterministic dataset splitting.</summary>
public static class DataSplit
{
    /// <summary>
    /// Splits items per class: within each class, a seeded shuffle picks <c>round(n × testFraction)</c> test
    /// and <c>round(n × validationFraction)</c> validation items and leaves the rest for training. When a
    /// fraction is positive, every class with enough items gets at least one item in that split, while
    /// training always keeps at least one item per class (a class of one item goes to training only; with two
    /// items and both fractions positive, test is served first). Each returned list keeps the items' original
    /// relative order. The result depends only on the items, labels, fractions and seed.
    /// </summary>
    /// <typeparam name="T">Item type.</typeparam>
    /// <param name="items">Items to split.</param>
    /// <param name="label">Class of an item (compared ordinally).</param>
    /// <param name="validationFraction">Fraction of each class for validation, in [0, 1).</param>
    /// <param name="testFraction">Fraction of each class for test, in [0, 1).</param>
    /// <param name="seed">Random seed.</param>
    /// <returns>Train, validation and test lists.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A fraction is outside [0, 1), not finite, or the two sum to 1 or more (the message names the parameter).</exception>
    public static SplitResult<T> Stratified<T>(IReadOnlyList<T> items, Func<T, string> label, double validationFraction, double testFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(label);
        CheckFraction(validationFraction, nameof(validationFraction));
        CheckFraction(testFraction, nameof(testFraction));
        if (validationFraction + testFraction >= 1.0)
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction,
                $"validationFraction ({validationFraction}) + testFraction ({testFraction}) must be below 1 so that training keeps items.");

        var byClass = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < items.Count; i++)
        {
            string l = label(items[i]) ?? throw new ArgumentException($"The label of item {i} is null.", nameof(label));
            if (!byClass.TryGetValue(l, out var list)) byClass[l] = list = [];
            list.Add(i);
        }

        // 0 = train, 1 = validation, 2 = test
        var assign = new byte[items.Count];
        var rng = new Random(seed);
        foreach (var (_, idx) in byClass)
        {
            int n = idx.Count;
            int nTest = Count(n, testFraction);
            int nVal = Count(n, validationFraction);
            while (nTest + nVal > n - 1)
            {
                if (nVal >= nTest && nVal > 0) nVal--;
                else nTest--;
            }
            var order = idx.ToArray();
            rng.Shuffle(order);
            for (int k = 0; k < nTest; k++) assign[order[k]] = 2;
            for (int k = nTest; k < nTest + nVal; k++) assign[order[k]] = 1;
        }

        var train = new List<T>();
        var val = new List<T>();
        var test = new List<T>();
        for (int i = 0; i < items.Count; i++)
            (assign[i] switch { 0 => train, 1 => val, _ => test }).Add(items[i]);
        return new SplitResult<T>(train.AsReadOnly(), val.AsReadOnly(), test.AsReadOnly());
    }

    private static int Count(int n, double fraction)
    {
        if (fraction <= 0) return 0;
        int c = (int)Math.Round(n * fraction, MidpointRounding.AwayFromZero);
        return Math.Max(1, c);
    }

    private static void CheckFraction(double f, string name)
    {
        if (!double.IsFinite(f) || f < 0 || f >= 1)
            throw new ArgumentOutOfRangeException(name, f, $"{name} must be in [0, 1), got {f}.");
    }
}
