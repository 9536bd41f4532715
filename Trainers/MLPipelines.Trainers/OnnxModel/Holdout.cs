namespace MLPipelines.Trainers.OnnxModel;

/// <summary>Seeded, stratified hold-out of row indices (for a validation set taken from the training rows).</summary>
internal static class Holdout
{
    /// <summary>Splits row indices by class so that about <paramref name="fraction"/> of each class is held out.</summary>
    public static (int[] Train, int[] Holdout) Split(int[] labels, double fraction, int seed)
    {
        var random = new Random(seed);
        var train = new List<int>();
        var held = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var rows = group.ToArray();
            random.Shuffle(rows);
            var take = rows.Length < 2 ? 0 : Math.Clamp((int)Math.Round(rows.Length * fraction), 1, rows.Length - 1);
            held.AddRange(rows.Take(take));
            train.AddRange(rows.Skip(take));
        }
        train.Sort();
        held.Sort();
        return (train.ToArray(), held.ToArray());
    }
}
