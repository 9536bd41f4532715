using MLPipelines.Knn;

namespace MLPipelines.Tests.Knn;

public sealed class RetrievalMetricsTests
{
    [Fact]
    public void Recall_and_mAP_match_a_hand_computed_example()
    {
        // Gallery (2-d, cosine): g0 = (1, 0) class 0, g1 = (0, 1) class 1, g2 = (1, 1) class 0, g3 = (-1, 0.1) class 1.
        float[] gallery = [1, 0, 0, 1, 1, 1, -1, 0.1f];
        int[] galleryLabels = [0, 1, 0, 1];
        // q0 = (1, 0.2), class 0: cosines g0 0.981, g2 0.832, g1 0.196, g3 -0.96 -> ranks 0:g0 (hit) 1:g2 (hit)
        //   AP = (1/1 + 2/2) / 2 = 1; first hit at rank 1.
        // q1 = (2, 0.1), class 1: cosines g0 0.9988, g2 0.742, g1 0.0499, g3 -0.945 -> g0, g2, g1 (hit at 3), g3 (hit at 4)
        //   AP = (1/3 + 2/4) / 2 = 0.41667; first hit at rank 3.
        // q2 = (0.1, 1), class 0: cosines g1 0.995, g2 0.778, g0 0.0995, g3 0.0 -> g1, g2 (hit at 2), g0 (hit at 3)
        //   AP = (1/2 + 2/3) / 2 = 0.58333; first hit at rank 2.
        float[] queries = [1, 0.2f, 2, 0.1f, 0.1f, 1];
        int[] queryLabels = [0, 1, 0];
        var r = RetrievalMetrics.Cosine(gallery, galleryLabels, queries, queryLabels, 2, [1, 2, 5]);
        Assert.Equal(3, r.QueryCount);
        Assert.Equal(1.0 / 3, r.RecallAt[1], 12);
        Assert.Equal(2.0 / 3, r.RecallAt[2], 12);
        Assert.Equal(1.0, r.RecallAt[5], 12);
        Assert.Equal((1 + (1.0 / 3 + 0.5) / 2 + (0.5 + 2.0 / 3) / 2) / 3, r.MeanAveragePrecision, 6);
    }

    [Fact]
    public void Scale_of_the_embeddings_does_not_matter_and_bad_shapes_are_refused()
    {
        float[] gallery = [1, 0, 0, 1, 1, 1];
        int[] labels = [0, 1, 1];
        var a = RetrievalMetrics.Cosine(gallery, labels, [3, 1], [1], 2, [1]);
        var b = RetrievalMetrics.Cosine(gallery.Select(v => v * 7).ToArray(), labels, [0.3f, 0.1f], [1], 2, [1]);
        Assert.Equal(a.MeanAveragePrecision, b.MeanAveragePrecision, 12);
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Cosine(gallery, labels, [1, 2, 3], [1], 2, [1]));
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Cosine(gallery, labels, [1, 2], [1], 2, [0]));
    }
}
