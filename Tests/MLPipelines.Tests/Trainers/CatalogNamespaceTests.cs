// Only ML.NET's namespaces: the MLPipelines catalog extensions must be found the way ML.NET's own are.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Tests.Trainers;

public sealed class CatalogNamespaceTests
{
    [Fact]
    public void Catalog_extensions_need_only_using_Microsoft_ML()
    {
        var ml = new MLContext(seed: 1);
        IEstimator<ITransformer> binary = ml.BinaryClassification.Trainers.Mlp(hiddenLayers: [4], epochs: 2);
        IEstimator<ITransformer> multiclass = ml.MulticlassClassification.Trainers.Mlp(hiddenLayers: [4], epochs: 2);
        IEstimator<ITransformer> knn = ml.MulticlassClassification.Trainers.Knn(k: 3);
        IEstimator<ITransformer> torch = ml.MulticlassClassification.Trainers.TorchSharp(() => TorchSharp.torch.nn.Linear(4, 3));
        Assert.All(new[] { binary, multiclass, knn, torch }, Assert.NotNull);
        Assert.Equal("Microsoft.ML", typeof(MlpCatalog).Namespace);
        Assert.Equal("Microsoft.ML", typeof(KnnCatalog).Namespace);
        Assert.Equal("Microsoft.ML", typeof(TorchCatalog).Namespace);
        _ = typeof(VectorDataViewType);
    }
}
