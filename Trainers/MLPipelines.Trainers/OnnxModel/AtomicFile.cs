using Microsoft.ML;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>Writes files so that a reader never sees a half-written one: temporary file in the same folder, then rename.</summary>
public static class AtomicFile
{
    /// <summary>Atomically writes <paramref name="bytes"/> to <paramref name="path"/>.</summary>
    /// <param name="path">Destination file; its folder is created when missing.</param>
    /// <param name="bytes">The content.</param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Atomically writes a file through <paramref name="write"/>; on failure the destination is untouched.</summary>
    /// <param name="path">Destination file; its folder is created when missing.</param>
    /// <param name="write">Writes the content to the given stream.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { /* best effort */ }
            throw;
        }
    }

    /// <summary>Saves an ML.NET model zip atomically (ML.NET's own Save writes in place).</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="model">The fitted model.</param>
    /// <param name="inputSchema">The schema of the data the model was fitted on (may be null).</param>
    /// <param name="path">Destination <c>.zip</c>.</param>
    public static void SaveModel(MLContext mlContext, ITransformer model, Microsoft.ML.DataViewSchema? inputSchema, string path)
        => Write(path, stream => mlContext.Model.Save(model, inputSchema, stream));
}
