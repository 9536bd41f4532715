using System.Globalization;
using MLPipelines.Knn;

namespace MLPipelines.Pipelines.Reporting;

/// <summary>Renders a query image and its retrieved nearest neighbours (from a KNN index with image paths as source ids).</summary>
public static class RetrievalGallery
{
    /// <summary>The query (highlighted) followed by one tile per neighbour: rank, label and distance.</summary>
    /// <param name="queryImagePath">The query image.</param>
    /// <param name="queryCaption">Caption of the query tile (e.g. its true label).</param>
    /// <param name="neighbors">Neighbours whose <see cref="KnnNeighbor.SourceId"/> is an image path.</param>
    /// <exception cref="ArgumentException">A neighbour has no source id.</exception>
    public static IReadOnlyList<GalleryTile> Tiles(string queryImagePath, string queryCaption, IReadOnlyList<KnnNeighbor> neighbors)
    {
        ArgumentException.ThrowIfNullOrEmpty(queryImagePath);
        ArgumentNullException.ThrowIfNull(neighbors);
        var tiles = new List<GalleryTile>(neighbors.Count + 1) { new(queryImagePath, queryCaption, Highlight: true) };
        foreach (var n in neighbors)
        {
            var path = n.SourceId ?? throw new ArgumentException(
                $"Neighbour {n.Rank} (reference {n.ReferenceIndex}) has no source id; build the index with image paths (KnnOptions.SourceColumnName).",
                nameof(neighbors));
            tiles.Add(new GalleryTile(path, string.Create(CultureInfo.InvariantCulture, $"#{n.Rank + 1} {n.LabelName}\nd = {n.Distance:G4}")));
        }
        return tiles;
    }

    /// <summary>Writes the gallery of <see cref="Tiles"/> as a PNG, atomically.</summary>
    /// <param name="path">Destination .png file.</param>
    /// <param name="queryImagePath">The query image.</param>
    /// <param name="queryCaption">Caption of the query tile.</param>
    /// <param name="neighbors">Neighbours whose source ids are image paths.</param>
    /// <param name="columns">Tiles per row; 0 puts the query and all neighbours in one row.</param>
    /// <param name="title">Optional title above the grid.</param>
    public static void Save(string path, string queryImagePath, string queryCaption, IReadOnlyList<KnnNeighbor> neighbors, int columns = 0, string? title = null)
    {
        var tiles = Tiles(queryImagePath, queryCaption, neighbors);
        ImageGallery.Save(path, tiles, columns > 0 ? columns : tiles.Count, title);
    }
}
