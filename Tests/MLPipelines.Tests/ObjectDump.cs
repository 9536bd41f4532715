using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace MLPipelines.Tests;

/// <summary>A deep, order-stable text of an object's public state, for comparing options objects in tests.</summary>
internal static class ObjectDump
{
    /// <summary>A deep, order-stable text of an object's public state (progress sinks and delegates left out).</summary>
    public static string Of(object? value)
    {
        var sb = new StringBuilder();
        Dump(value, sb, 0);
        return sb.ToString();
    }

    private static void Dump(object? value, StringBuilder sb, int depth)
    {
        if (depth > 8) { sb.Append('…'); return; }
        switch (value)
        {
            case null: sb.Append("null"); return;
            case string s: sb.Append('"').Append(s).Append('"'); return;
            case IFormattable f when value.GetType().IsPrimitive || value is Enum or decimal: sb.Append(f.ToString(null, CultureInfo.InvariantCulture)); return;
            case bool b: sb.Append(b); return;
            case Delegate: return;
            case IEnumerable items:
                sb.Append('[');
                foreach (var item in items) { Dump(item, sb, depth + 1); sb.Append(','); }
                sb.Append(']');
                return;
        }
        var type = value.GetType();
        sb.Append(type.Name).Append('{');
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (p.GetIndexParameters().Length > 0 || p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(IProgress<>)
                || typeof(Delegate).IsAssignableFrom(p.PropertyType) || p.Name == "EqualityContract")
                continue;
            sb.Append(p.Name).Append('=');
            Dump(p.GetValue(value), sb, depth + 1);
            sb.Append(';');
        }
        sb.Append('}');
    }
}
