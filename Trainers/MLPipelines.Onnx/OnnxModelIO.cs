using MLPipelines.IO;
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
        var copy = bytes.ToArray();
        AtomicFile.Write(path, stream => stream.Write(copy));
    }
}
