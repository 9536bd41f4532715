using MLPipelines.Onnx;

namespace MLPipelines.Data;

/// <summary>
/// The area filter of <see cref="ImagePreprocessingOptions.Supersampling"/>: a small ONNX graph that reads planar
/// pixels of (k·S)² per channel and averages every k × k block (AveragePool, kernel = stride = k), giving S × S.
/// It runs in the ML.NET chain through the stock <c>ApplyOnnxModel</c>, so a saved zip needs nothing but ML.NET.
/// </summary>
public static class AreaDownsampling
{
    /// <summary>Suffix of the column holding the pixels before averaging (dropped at the end of the chain).</summary>
    public const string ColumnSuffix = "_Supersampled";

    /// <summary>Builds the graph: input <paramref name="input"/> [C·(kS)²] → output <paramref name="output"/> [C, S, S] (one image).</summary>
    /// <param name="input">Input tensor name (the extracted-pixel column).</param>
    /// <param name="output">Output tensor name (the feature column).</param>
    /// <param name="channels">Channels C (planar).</param>
    /// <param name="size">Output side S.</param>
    /// <param name="factor">Block side k (at least 2).</param>
    /// <returns>The serialised ONNX model.</returns>
    public static byte[] Graph(string input, string output, int channels, int size, int factor)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 2);
        long fine = (long)size * factor;
        var g = new OnnxGraphBuilder("area_downsampling") { DocString = $"Average of {factor}x{factor} pixel blocks: {fine}x{fine} -> {size}x{size}, {channels} channel(s)." };
        // One row per run (ML.NET's OnnxTransformer scores row by row): rank-1 input, rank-3 output, so the feature
        // column's dimensions are [C, S, S] as ExtractPixels would record them (a batch axis would add a leading 1).
        var x = g.AddInput(input, OnnxElementType.Float, channels * fine * fine);
        var shape = g.AddInitializer("fine_shape", [1L, channels, fine, fine], 4);
        var images = g.AddNode("Reshape", [x, shape], "fine_images");
        var pooled = g.AddNode("AveragePool", [images], "pooled",
            OnnxAttribute.Ints("kernel_shape", factor, factor), OnnxAttribute.Ints("strides", factor, factor));
        var outShape = g.AddInitializer("coarse_shape", [(long)channels, size, size], 3);
        g.AddNode("Reshape", [pooled, outShape], output);
        g.AddOutput(output, OnnxElementType.Float, channels, size, size);
        return g.ToBytes();
    }
}
