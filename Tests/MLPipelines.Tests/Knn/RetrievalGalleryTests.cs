using MLPipelines.Knn;
using MLPipelines.Pipelines.Reporting;

namespace MLPipelines.Tests.Knn;

public class RetrievalGalleryTests
{
    [Fact]
    public void Query_and_neighbours_become_captioned_tiles_and_a_png()
    {
        float[] refs = [0, 0, 3, 4, 1, 0];
        var index = new KnnIndex(refs, 2, [0, 1, 1], KnnMetric.Euclidean, ["cat", "dog"], ["a.png", "b.png", "c.png"]);
        var neighbours = index.Neighbors([0.1f, 0f], 2);
        var tiles = RetrievalGallery.Tiles("q.png", "query: cat", neighbours);
        Assert.Equal(3, tiles.Count);
        Assert.True(tiles[0].Highlight);
        Assert.Equal("a.png", tiles[1].ImagePath);
        Assert.StartsWith("#1 cat", tiles[1].Caption);
        Assert.Equal("c.png", tiles[2].ImagePath);

        var path = Path.Combine(Path.GetTempPath(), $"knn-gallery-{Guid.NewGuid():N}.png");
        try
        {
            RetrievalGallery.Save(path, "q.png", "query: cat", neighbours); // missing images render as placeholders
            var bytes = File.ReadAllBytes(path);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes.Take(4));
        }
        finally
        {
            File.Delete(path);
        }

        var noSources = new KnnIndex(refs, 2, [0, 1, 1]);
        Assert.Throws<ArgumentException>(() => RetrievalGallery.Tiles("q.png", "q", noSources.Neighbors([0f, 0f], 1)));
    }
}
