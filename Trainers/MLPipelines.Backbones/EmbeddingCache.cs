using System.Globalization;
using System.Text;
using MLPipelines.IO;

namespace MLPipelines.Backbones;

/// <summary>
/// On-disk cache of embeddings for one compiled model: folder <c>root/&lt;first 16 hex digits of the model hash&gt;/</c>
/// holding <c>shard-*.npy</c> float32 [rows, E] files and <c>index.tsv</c>, one line per image:
/// full path, size in bytes, last-write time (UTC ticks), shard file, row. An entry is used only when the file's
/// current size and time match, so a changed image is recomputed. Every file is written atomically (temporary file,
/// then move); a process that writes the index last wins, entries it did not know are lost (they are recomputed).
/// </summary>
internal sealed class EmbeddingCache
{
    private const string Header = "# MLPipelines embedding cache v1";
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, float[]?> _shards = new(StringComparer.Ordinal);
    private readonly string _indexPath;

    private sealed record Entry(long Size, long Ticks, string Shard, int Row);

    public EmbeddingCache(string root, string modelHash, int dimension)
    {
        Folder = Path.Combine(Path.GetFullPath(root), modelHash[..16]);
        Dimension = dimension;
        ModelHash = modelHash;
        _indexPath = Path.Combine(Folder, "index.tsv");
        Load();
    }

    public string Folder { get; }

    public int Dimension { get; }

    public string ModelHash { get; }

    /// <summary>The key of an image file: full path, size and last-write time; null when the path cannot be cached.</summary>
    public static (string Path, long Size, long Ticks)? KeyOf(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        string full = info.FullName;
        if (full.Contains('\t') || full.Contains('\n') || full.Contains('\r')) return null;
        return (full, info.Length, info.LastWriteTimeUtc.Ticks);
    }

    /// <summary>Copies the cached embedding of <paramref name="key"/> into <paramref name="destination"/>; false on a miss.</summary>
    public bool TryGet((string Path, long Size, long Ticks) key, Span<float> destination)
    {
        if (!_entries.TryGetValue(key.Path, out var e) || e.Size != key.Size || e.Ticks != key.Ticks) return false;
        if (!_shards.TryGetValue(e.Shard, out var data))
        {
            data = ReadShard(e.Shard);
            _shards[e.Shard] = data;
        }
        if (data is null || (long)(e.Row + 1) * Dimension > data.Length) return false;
        data.AsSpan(e.Row * Dimension, Dimension).CopyTo(destination);
        return true;
    }

    /// <summary>Writes one shard with <paramref name="rows"/> embeddings and rewrites the index.</summary>
    public void Add(IReadOnlyList<(string Path, long Size, long Ticks)> keys, float[] rows)
    {
        if (keys.Count == 0) return;
        if (rows.Length != keys.Count * Dimension) throw new ArgumentException("Row count does not match the keys.", nameof(rows));
        Directory.CreateDirectory(Folder);
        string shard = $"shard-{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid():N}.npy";
        Npy.Write(Path.Combine(Folder, shard), rows, keys.Count, Dimension);
        _shards[shard] = rows;
        for (int i = 0; i < keys.Count; i++) _entries[keys[i].Path] = new Entry(keys[i].Size, keys[i].Ticks, shard, i);

        var sb = new StringBuilder();
        sb.Append(Header).Append("; model sha256 ").Append(ModelHash).Append("; dimension ").Append(Dimension.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (path, e) in _entries)
        {
            sb.Append(path).Append('\t').Append(e.Size.ToString(CultureInfo.InvariantCulture)).Append('\t')
              .Append(e.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(e.Shard).Append('\t')
              .Append(e.Row.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        AtomicFile.WriteAllText(_indexPath, sb.ToString());
    }

    private void Load()
    {
        if (!File.Exists(_indexPath)) return;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(_indexPath);
        }
        catch (IOException)
        {
            return;
        }
        if (lines.Length == 0 || !lines[0].StartsWith(Header, StringComparison.Ordinal) || !lines[0].Contains(ModelHash, StringComparison.Ordinal)) return;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split('\t');
            if (f.Length != 5
                || !long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out long size)
                || !long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks)
                || !int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out int row)
                || f[3].Contains('/') || f[3].Contains('\\'))
            {
                continue; // damaged line: that image is recomputed
            }
            _entries[f[0]] = new Entry(size, ticks, f[3], row);
        }
    }

    private float[]? ReadShard(string shard)
    {
        try
        {
            var a = Npy.Read(Path.Combine(Folder, shard));
            if (a.DType != NpyDType.Float32 || a.Shape.Length != 2 || a.Shape[1] != Dimension) return null;
            return a.ToFloat32();
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null; // missing or damaged shard: its images are recomputed
        }
    }
}
