using System.Globalization;

namespace MLPipelines.Cli;

/// <summary>Thrown for a command-line mistake; the message is shown to the user with the command's usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// A small, strict parser: <c>--name value</c>, <c>--name=value</c>, boolean <c>--flag</c>s and positionals.
/// Every option must be consumed by the command, so a misspelt option is an error, never silently ignored.
/// </summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];

    public Arguments(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                var name = eq > 0 ? arg[..eq] : arg;
                string? value;
                if (eq > 0)
                    value = arg[(eq + 1)..];
                else if (flags.Contains(name))
                    value = null;
                else if (e.MoveNext())
                    value = e.Current;
                else
                    throw new UsageException($"Option {name} needs a value.");
                if (!_options.TryAdd(name, value))
                    throw new UsageException($"Option {name} is given twice.");
            }
            else
            {
                _positionals.Add(arg);
            }
        }
    }

    public IReadOnlyList<string> Positionals => _positionals;

    public bool Flag(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    public string? String(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out var v) ? v : null;
    }

    /// <summary>Reads an option and removes it, so later reads see it as absent (for commands that reinterpret an option).</summary>
    public string? Take(string name)
    {
        var value = String(name);
        _options.Remove(name);
        return value;
    }

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        var s = String(name);
        if (s is null)
            return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new UsageException($"Option {name} must be an integer in [{min}, {max}], got '{s}'.");
        return v;
    }

    public double Double(string name, double fallback)
    {
        var s = String(name);
        if (s is null)
            return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw new UsageException($"Option {name} must be a number, got '{s}'.");
        // Every number ends up in single-precision tensors or weights: a double beyond float's range overflows there.
        if (Math.Abs(v) > float.MaxValue || (v != 0 && Math.Abs(v) < float.Epsilon))
            throw new UsageException($"Option {name} must be a number within single-precision range (about 1.4e-45 to 3.4e38 in magnitude, or 0), got '{s}'.");
        return v;
    }

    public int[]? IntList(string name)
    {
        var s = String(name);
        if (s is null)
            return null;
        try
        {
            return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => int.Parse(x, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new UsageException($"Option {name} must be a comma-separated list of integers, got '{s}'.");
        }
    }

    /// <summary><c>--classes a,b,...</c> or <c>all</c> (null); at least two names.</summary>
    public string[]? Classes(string fallback)
    {
        var text = String("--classes") ?? fallback;
        if (text.Equals("all", StringComparison.OrdinalIgnoreCase))
            return null;
        var classes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (classes.Length < 2)
            throw new UsageException("--classes needs at least two class names (e.g. 6,8) or 'all'.");
        return classes;
    }

    /// <summary><c>--seeds 1,2,3</c>, else <c>--seed N</c> (default 1); at least one seed.</summary>
    public int[] Seeds()
    {
        if (String("--seeds") is not null && String("--seed") is not null)
            throw new UsageException("Give --seed N or --seeds A,B,C, not both.");
        var seeds = IntList("--seeds") ?? [Int("--seed", 1)];
        if (seeds.Length == 0)
            throw new UsageException("--seeds needs at least one seed.");
        var repeated = seeds.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
            throw new UsageException($"--seeds must be distinct; {string.Join(", ", repeated)} is given more than once (the same run twice would fake a spread).");
        return seeds;
    }

    public TEnum Enum<TEnum>(string name, TEnum fallback) where TEnum : struct, Enum
    {
        var s = String(name);
        if (s is null)
            return fallback;
        if (!System.Enum.TryParse<TEnum>(s, ignoreCase: true, out var v) || !System.Enum.IsDefined(v))
            throw new UsageException($"Option {name} must be one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}, got '{s}'.");
        return v;
    }

    /// <summary>An integer option in [min, max], or null when absent (the run then takes its own default).</summary>
    public int? NullableInt(string name, int min = int.MinValue, int max = int.MaxValue) =>
        String(name) is null ? null : Int(name, 0, min, max);

    /// <summary>An enum option, or null when absent.</summary>
    public TEnum? NullableEnum<TEnum>(string name) where TEnum : struct, Enum =>
        String(name) is null ? null : Enum(name, default(TEnum));

    /// <summary>A finite number accepted by <paramref name="valid"/> (else a usage error saying <paramref name="rule"/>), or null when absent.</summary>
    public double? NullableDouble(string name, Func<double, bool> valid, string rule)
    {
        if (String(name) is null)
            return null;
        var v = Double(name, 0);
        return valid(v) ? v : throw new UsageException($"Option {name} must be {rule}, got {v.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>A positive number, or null when absent.</summary>
    public double? NullablePositive(string name) => NullableDouble(name, v => v > 0, "positive");

    /// <summary>A non-negative number, or null when absent.</summary>
    public double? NullableNonNegative(string name) => NullableDouble(name, v => v >= 0, "non-negative");

    /// <summary>A fraction in [0, 1), or null when absent.</summary>
    public double? NullableFraction(string name) => NullableDouble(name, v => v is >= 0 and < 1, "in [0, 1)");

    /// <summary>Comma-separated positive layer widths (e.g. 128,64), or null when absent.</summary>
    public int[]? Widths(string name)
    {
        var widths = IntList(name);
        if (widths is not null && (widths.Length == 0 || widths.Any(w => w < 1)))
            throw new UsageException($"{name} must list positive layer widths, e.g. 128,64.");
        return widths;
    }

    /// <summary>Throws for any option the command did not read.</summary>
    public void EnsureAllUsed()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"Unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown)}.");
    }
}
