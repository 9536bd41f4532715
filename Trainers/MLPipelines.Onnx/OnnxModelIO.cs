namespace MLPipelines.Onnx;

/// <summary>Loading, parsing and atomic saving of ONNX models.</summary>
public static class OnnxModelIO
{
    /// <summary>Reads and parses an .onnx file (external-data tensors are not resolved).</summary>
    public static OnnxModelProto Load(string path) => OnnxModelProto.Parse(File.ReadAllBytes(path));

    /// <summary>Parses serialized ModelProto bytes.</summary>
    public static OnnxModelProto Parse(ReadOnlySpan<byte> bytes) => OnnxModelProto.Parse(bytes);

    /// <summary>
    /// Serializes <paramref name="model"/> to <paramref name="path"/> atomically: the bytes go to a temporary file in
    /// the same folder, which is flushed and then moved over the destination, so readers never see a partial file.
    /// </summary>
    public static void SaveAtomic(OnnxModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        SaveAtomic(model.ToBytes(), path);
    }

    /// <summary>Writes already serialized model bytes to <paramref name="path"/> atomically (see <see cref="SaveAtomic(OnnxModelProto, string)"/>).</summary>
    public static void SaveAtomic(ReadOnlySpan<byte> bytes, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
