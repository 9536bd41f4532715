using MLPipelines.Onnx;
using static MLPipelines.Tests.Onnx.OrtRunner;

namespace MLPipelines.Tests.Onnx;

/// <summary>
/// Graphs built with <see cref="OnnxGraphBuilder"/> are run in ONNX Runtime on random inputs and compared with
/// plain C# scalar references.
/// </summary>
public sealed class OnnxOperatorTests
{
    private const int N = 3;

    [Fact]
    public void MatMulAdd_MatchesReference()
    {
        var rng = new Random(1);
        int k = 5, m = 4;
        float[] x = RandomFloats(rng, N * k), w = RandomFloats(rng, k * m), b = RandomFloats(rng, m);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, k);
        g.AddInitializer("W", w, k, m);
        g.AddInitializer("B", b, m);
        var mm = g.AddNode("MatMul", ["X", "W"], g.UniqueName("mm"));
        g.AddNode("Add", [mm, "B"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, m);

        var y = Run(g.ToBytes(), ("X", x, [N, k]))["Y"];

        Assert.Equal([N, m], y.Shape);
        var expected = new double[N * m];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double s = b[j];
                for (int t = 0; t < k; t++) s += (double)x[i * k + t] * w[t * m + j];
                expected[i * m + j] = s;
            }
        }
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void GemmTransB_MatchesReference()
    {
        var rng = new Random(2);
        int k = 6, m = 3;
        float alpha = 0.5f, beta = 2f;
        float[] x = RandomFloats(rng, N * k), w = RandomFloats(rng, m * k), c = RandomFloats(rng, m);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, k);
        g.AddInitializer("W", w, m, k);
        g.AddInitializer("C", c, m);
        g.AddNode("Gemm", ["X", "W", "C"], "Y",
            OnnxAttribute.Int("transB", 1), OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Float("beta", beta));
        g.AddOutput("Y", OnnxElementType.Float, -1, m);

        var y = Run(g.ToBytes(), ("X", x, [N, k]))["Y"];

        var expected = new double[N * m];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double)x[i * k + t] * w[j * k + t];
                expected[i * m + j] = alpha * s + beta * c[j];
            }
        }
        AssertClose(expected, y.Floats);
    }

    [Theory]
    [InlineData("Sigmoid")]
    [InlineData("Relu")]
    [InlineData("Tanh")]
    public void Activation_MatchesReference(string op)
    {
        var rng = new Random(op.Length);
        float[] x = RandomFloats(rng, N * 7, 4f);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, 7);
        g.AddNode(op, ["X"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, 7);

        var y = Run(g.ToBytes(), ("X", x, [N, 7]))["Y"];

        Func<double, double> f = op switch
        {
            "Sigmoid" => v => 1 / (1 + Math.Exp(-v)),
            "Relu" => v => Math.Max(0, v),
            "Tanh" => Math.Tanh,
            _ => throw new ArgumentException(op),
        };
        AssertClose(x.Select(v => f(v)).ToArray(), y.Floats);
    }

    [Fact]
    public void SoftmaxLastAxis_MatchesReference()
    {
        var rng = new Random(4);
        int c = 5;
        float[] x = RandomFloats(rng, N * c, 3f);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c);
        g.AddNode("Softmax", ["X"], "P", OnnxAttribute.Int("axis", -1));
        g.AddOutput("P", OnnxElementType.Float, -1, c);

        var p = Run(g.ToBytes(), ("X", x, [N, c]))["P"];

        var expected = new double[N * c];
        for (int i = 0; i < N; i++)
        {
            double max = Enumerable.Range(0, c).Max(j => (double)x[i * c + j]);
            double sum = Enumerable.Range(0, c).Sum(j => Math.Exp(x[i * c + j] - max));
            for (int j = 0; j < c; j++) expected[i * c + j] = Math.Exp(x[i * c + j] - max) / sum;
        }
        AssertClose(expected, p.Floats);
    }

    [Fact]
    public void ArgMaxKeepDimsAndCast_MatchesReference()
    {
        var rng = new Random(5);
        int c = 6;
        float[] x = RandomFloats(rng, N * c);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c);
        var idx = g.AddNode("ArgMax", ["X"], "Idx", OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 1));
        g.AddNode("Cast", [idx], "IdxF", OnnxAttribute.Int("to", (long)OnnxElementType.Float));
        g.AddOutput("Idx", OnnxElementType.Int64, -1, 1);
        g.AddOutput("IdxF", OnnxElementType.Float, -1, 1);

        var r = Run(g.ToBytes(), ("X", x, [N, c]));

        long[] expected = Enumerable.Range(0, N)
            .Select(i => (long)Enumerable.Range(0, c).MaxBy(j => x[i * c + j]))
            .ToArray();
        Assert.Equal([N, 1], r["Idx"].Shape);
        Assert.Equal(expected, r["Idx"].Longs);
        Assert.Equal(expected.Select(v => (float)v).ToArray(), r["IdxF"].Floats);
    }

    [Fact]
    public void ReshapeAndFlatten_KeepDataAndGiveShapes()
    {
        var rng = new Random(6);
        float[] x = RandomFloats(rng, N * 2 * 3 * 4);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, 2, 3, 4);
        g.AddNode("Flatten", ["X"], "F", OnnxAttribute.Int("axis", 1));
        g.AddInitializer("shape", [0L, 6, -1], 3);
        g.AddNode("Reshape", ["X", "shape"], "R");
        g.AddOutput("F", OnnxElementType.Float, -1, 24);
        g.AddOutput("R", OnnxElementType.Float, -1, 6, 4);

        var r = Run(g.ToBytes(), ("X", x, [N, 2, 3, 4]));

        Assert.Equal([N, 24], r["F"].Shape);
        Assert.Equal([N, 6, 4], r["R"].Shape);
        Assert.Equal(x, r["F"].Floats);
        Assert.Equal(x, r["R"].Floats);
    }

    [Fact]
    public void ConvWithPadsAndStrides_MatchesReference()
    {
        var rng = new Random(7);
        int c = 2, h = 7, wd = 6, m = 3, kh = 3, kw = 3, s = 2, p = 1;
        float[] x = RandomFloats(rng, N * c * h * wd), w = RandomFloats(rng, m * c * kh * kw), b = RandomFloats(rng, m);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c, h, wd);
        g.AddInitializer("W", w, m, c, kh, kw);
        g.AddInitializer("B", b, m);
        g.AddNode("Conv", ["X", "W", "B"], "Y",
            OnnxAttribute.Ints("kernel_shape", kh, kw), OnnxAttribute.Ints("strides", s, s), OnnxAttribute.Ints("pads", p, p, p, p));
        int oh = (h + 2 * p - kh) / s + 1, ow = (wd + 2 * p - kw) / s + 1;
        g.AddOutput("Y", OnnxElementType.Float, -1, m, oh, ow);

        var y = Run(g.ToBytes(), ("X", x, [N, c, h, wd]))["Y"];

        Assert.Equal([N, m, oh, ow], y.Shape);
        var expected = new double[N * m * oh * ow];
        for (int n = 0; n < N; n++)
        for (int o = 0; o < m; o++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double sum = b[o];
            for (int ci = 0; ci < c; ci++)
            for (int u = 0; u < kh; u++)
            for (int v = 0; v < kw; v++)
            {
                int yy = i * s - p + u, xx = j * s - p + v;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                sum += (double)x[((n * c + ci) * h + yy) * wd + xx] * w[((o * c + ci) * kh + u) * kw + v];
            }
            expected[((n * m + o) * oh + i) * ow + j] = sum;
        }
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void BatchNormalization_MatchesReference()
    {
        var rng = new Random(8);
        int c = 3, hw = 4;
        float eps = 1e-3f;
        float[] x = RandomFloats(rng, N * c * hw), scale = RandomFloats(rng, c), bias = RandomFloats(rng, c), mean = RandomFloats(rng, c);
        float[] variance = RandomFloats(rng, c).Select(v => Math.Abs(v) + 0.1f).ToArray();
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c, 2, 2);
        g.AddInitializer("scale", scale, c);
        g.AddInitializer("bias", bias, c);
        g.AddInitializer("mean", mean, c);
        g.AddInitializer("var", variance, c);
        g.AddNode("BatchNormalization", ["X", "scale", "bias", "mean", "var"], "Y", OnnxAttribute.Float("epsilon", eps));
        g.AddOutput("Y", OnnxElementType.Float, -1, c, 2, 2);

        var y = Run(g.ToBytes(), ("X", x, [N, c, 2, 2]))["Y"];

        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / hw % c;
            expected[i] = scale[ch] * (x[i] - mean[ch]) / Math.Sqrt(variance[ch] + eps) + bias[ch];
        }
        AssertClose(expected, y.Floats);
    }

    [Theory]
    [InlineData("MaxPool")]
    [InlineData("AveragePool")]
    public void Pool_WithPadsAndStrides_MatchesReference(string op)
    {
        var rng = new Random(9);
        int c = 2, h = 5, w = 6, k = 3, s = 2, p = 1;
        float[] x = RandomFloats(rng, N * c * h * w);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c, h, w);
        g.AddNode(op, ["X"], "Y", OnnxAttribute.Ints("kernel_shape", k, k), OnnxAttribute.Ints("strides", s, s), OnnxAttribute.Ints("pads", p, p, p, p));
        int oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
        g.AddOutput("Y", OnnxElementType.Float, -1, c, oh, ow);

        var y = Run(g.ToBytes(), ("X", x, [N, c, h, w]))["Y"];

        Assert.Equal([N, c, oh, ow], y.Shape);
        var expected = new double[N * c * oh * ow];
        for (int nc = 0; nc < N * c; nc++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            var cells = new List<double>();
            for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++)
            {
                int yy = i * s - p + u, xx = j * s - p + v;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w) cells.Add(x[(nc * h + yy) * w + xx]);
            }
            // AveragePool default count_include_pad = 0: padding cells are not counted.
            expected[(nc * oh + i) * ow + j] = op == "MaxPool" ? cells.Max() : cells.Average();
        }
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void GlobalAveragePool_MatchesReference()
    {
        var rng = new Random(10);
        int c = 4, hw = 15;
        float[] x = RandomFloats(rng, N * c * hw);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, c, 3, 5);
        g.AddNode("GlobalAveragePool", ["X"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, c, 1, 1);

        var y = Run(g.ToBytes(), ("X", x, [N, c, 3, 5]))["Y"];

        Assert.Equal([N, c, 1, 1], y.Shape);
        var expected = Enumerable.Range(0, N * c).Select(i => x.Skip(i * hw).Take(hw).Average(v => (double)v)).ToArray();
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void ConcatAndBroadcastAdd_MatchesReference()
    {
        var rng = new Random(11);
        float[] a = RandomFloats(rng, N * 2), b = RandomFloats(rng, N * 3), bias = RandomFloats(rng, 5);
        var g = new OnnxGraphBuilder();
        g.AddInput("A", OnnxElementType.Float, -1, 2);
        g.AddInput("B", OnnxElementType.Float, -1, 3);
        g.AddInitializer("bias", bias, 5);
        var cat = g.AddNode("Concat", ["A", "B"], g.UniqueName("cat"), OnnxAttribute.Int("axis", 1));
        g.AddNode("Add", [cat, "bias"], "Y");
        g.AddOutput("Y", OnnxElementType.Float, -1, 5);

        var y = Run(g.ToBytes(), ("A", a, [N, 2]), ("B", b, [N, 3]))["Y"];

        var expected = new double[N * 5];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < 5; j++) expected[i * 5 + j] = (j < 2 ? a[i * 2 + j] : b[i * 3 + j - 2]) + (double)bias[j];
        }
        AssertClose(expected, y.Floats);
    }

    [Fact]
    public void TopK_MatchesReference()
    {
        var rng = new Random(12);
        int d = 8, k = 3;
        float[] x = RandomFloats(rng, N * d);
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, d);
        g.AddInitializer("K", [(long)k], 1);
        g.AddNode("TopK", ["X", "K"], ["V", "I"], OnnxAttribute.Int("axis", -1), OnnxAttribute.Int("largest", 1));
        g.AddOutput("V", OnnxElementType.Float, -1, k);
        g.AddOutput("I", OnnxElementType.Int64, -1, k);

        var r = Run(g.ToBytes(), ("X", x, [N, d]));

        for (int i = 0; i < N; i++)
        {
            var top = Enumerable.Range(0, d).OrderByDescending(j => x[i * d + j]).Take(k).ToArray();
            Assert.Equal(top.Select(j => (long)j), r["I"].Longs!.Skip(i * k).Take(k));
            Assert.Equal(top.Select(j => x[i * d + j]), r["V"].Floats!.Skip(i * k).Take(k));
        }
    }

    [Fact]
    public void GatherStringLabelsByArgMax_MatchesReference()
    {
        var rng = new Random(13);
        string[] labels = ["cat", "dog", "bird", "émeu"];
        float[] scores = RandomFloats(rng, 5 * labels.Length);
        var g = new OnnxGraphBuilder();
        g.AddInput("S", OnnxElementType.Float, -1, labels.Length);
        g.AddInitializer("labels", labels, labels.Length);
        var idx = g.AddNode("ArgMax", ["S"], g.UniqueName("idx"), OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0));
        g.AddNode("Gather", ["labels", idx], "Label", OnnxAttribute.Int("axis", 0));
        g.AddOutput("Label", OnnxElementType.String, -1);

        var r = Run(g.ToBytes(), ("S", scores, [5, labels.Length]))["Label"];

        var expected = Enumerable.Range(0, 5)
            .Select(i => labels[Enumerable.Range(0, labels.Length).MaxBy(j => scores[i * labels.Length + j])])
            .ToArray();
        Assert.Equal([5], r.Shape);
        Assert.Equal(expected, r.Strings);
    }

    /// <summary>A KNN-style graph: squared distances with ReduceSumSquare, nearest neighbours with TopK, labels with Gather.</summary>
    [Fact]
    public void SquaredDistancesTopKGather_MatchesReference()
    {
        var rng = new Random(14);
        int d = 4, m = 6, k = 2;
        float[] x = RandomFloats(rng, N * d), refs = RandomFloats(rng, m * d);
        string[] labels = ["a", "b", "c", "d", "e", "f"];
        var g = new OnnxGraphBuilder();
        g.AddInput("X", OnnxElementType.Float, -1, d);
        g.AddInitializer("R", refs, m, d);
        g.AddInitializer("labels", labels, m);
        g.AddInitializer("axis1", [1L], 1);
        g.AddInitializer("K", [(long)k], 1);
        var xu = g.AddNode("Unsqueeze", ["X", "axis1"], g.UniqueName("xu"));
        var diff = g.AddNode("Sub", [xu, "R"], g.UniqueName("diff"));
        g.AddNode("ReduceSumSquare", [diff], "D2", OnnxAttribute.Ints("axes", 2), OnnxAttribute.Int("keepdims", 0));
        g.AddNode("TopK", ["D2", "K"], ["NV", "NI"], OnnxAttribute.Int("largest", 0));
        g.AddNode("Gather", ["labels", "NI"], "NL");
        g.AddOutput("D2", OnnxElementType.Float, -1, m);
        g.AddOutput("NL", OnnxElementType.String, -1, k);

        var r = Run(g.ToBytes(), ("X", x, [N, d]));

        var d2 = new double[N * m];
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int t = 0; t < d; t++) s += Math.Pow((double)x[i * d + t] - refs[j * d + t], 2);
                d2[i * m + j] = s;
            }
        }
        AssertClose(d2, r["D2"].Floats);
        var expectedLabels = Enumerable.Range(0, N)
            .SelectMany(i => Enumerable.Range(0, m).OrderBy(j => d2[i * m + j]).Take(k).Select(j => labels[j]))
            .ToArray();
        Assert.Equal([N, k], r["NL"].Shape);
        Assert.Equal(expectedLabels, r["NL"].Strings);
    }
}
