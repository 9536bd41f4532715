using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLPipelines.Tests.Onnx;

/// <summary>One output of an ONNX Runtime run, copied out of native memory.</summary>
internal sealed record OrtResult(long[] Shape, float[]? Floats, long[]? Longs, string[]? Strings);

/// <summary>Runs serialized ONNX models in ONNX Runtime (InferenceSession from bytes).</summary>
internal static class OrtRunner
{
    public static Dictionary<string, OrtResult> Run(byte[] model, params (string Name, Array Data, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var (name, data, shape) in inputs)
            {
                values[name] = data switch
                {
                    float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
                    long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
                    int[] i => OrtValue.CreateTensorValueFromMemory(i, shape),
                    _ => throw new ArgumentException($"Unsupported input type {data.GetType()}"),
                };
            }
            using var runOptions = new RunOptions();
            var names = session.OutputNames.ToArray();
            using var outputs = session.Run(runOptions, values, names);
            var result = new Dictionary<string, OrtResult>();
            int k = 0;
            foreach (var o in outputs)
            {
                var info = o.GetTensorTypeAndShape();
                result[names[k++]] = info.ElementDataType switch
                {
                    TensorElementType.Float => new OrtResult(info.Shape, o.GetTensorDataAsSpan<float>().ToArray(), null, null),
                    TensorElementType.Int64 => new OrtResult(info.Shape, null, o.GetTensorDataAsSpan<long>().ToArray(), null),
                    TensorElementType.Int32 => new OrtResult(info.Shape, null, o.GetTensorDataAsSpan<int>().ToArray().Select(v => (long)v).ToArray(), null),
                    TensorElementType.String => new OrtResult(info.Shape, null, null, o.GetStringTensorAsArray()),
                    var t => throw new NotSupportedException($"Output element type {t}"),
                };
            }
            return result;
        }
        finally
        {
            foreach (var v in values.Values) v.Dispose();
        }
    }

    public static float[] RandomFloats(Random rng, int count, float scale = 1f)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            if (!(diff <= tol * (1 + Math.Abs(expected[i]))))
            {
                Assert.Fail($"Element {i}: expected {expected[i]:R}, got {actual[i]:R} (|diff| {diff:E2} > tol {tol:E0}).");
            }
        }
    }
}
