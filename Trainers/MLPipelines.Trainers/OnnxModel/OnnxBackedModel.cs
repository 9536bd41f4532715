using MLPipelines.IO;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLPipelines.Trainers.OnnxModel;

/// <summary>
/// Base class of every model that an MLPipelines trainer returns. The trained network has already been
/// compiled to an ONNX graph; this object only holds a chain of <em>stock</em> ML.NET transformers
/// (<c>ApplyOnnxModel</c> with the model bytes embedded, plus stock heads that give the output columns
/// ML.NET's usual schema). Saving writes that stock chain, so the zip loads with plain
/// <c>mlContext.Model.Load</c> in an application that references no MLPipelines assembly.
/// </summary>
/// <remarks>
/// After a round trip through a zip the loaded object is a stock <see cref="TransformerChain{TLastTransformer}"/>;
/// the training-time extras exposed by subclasses (weights, history) live only on the fitted instance.
/// </remarks>
public abstract class OnnxBackedModel : ITransformer, ICanSaveModel
{
    private readonly TransformerChain<ITransformer> _chain;

    /// <summary>Creates the model from the stock transformer chain and the ONNX bytes it runs.</summary>
    /// <param name="chain">The stock ML.NET transformers that score the model.</param>
    /// <param name="onnxModel">The serialized ONNX model used by <paramref name="chain"/>.</param>
    protected OnnxBackedModel(TransformerChain<ITransformer> chain, byte[] onnxModel)
    {
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        OnnxModel = onnxModel ?? throw new ArgumentNullException(nameof(onnxModel));
    }

    /// <summary>The stock ML.NET transformers that score this model (what a saved zip contains).</summary>
    public TransformerChain<ITransformer> StockTransformers => _chain;

    /// <summary>The serialized ONNX graph (ModelProto bytes) the model runs inside ML.NET.</summary>
    public byte[] OnnxModel { get; }

    /// <summary>Writes <see cref="OnnxModel"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="path">Destination <c>.onnx</c> file.</param>
    public void SaveOnnx(string path) => AtomicFile.WriteAllBytes(path, OnnxModel);

    /// <inheritdoc />
    public bool IsRowToRowMapper => ((ITransformer)_chain).IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _chain.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_chain).GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => _chain.Transform(input);

    /// <summary>Saves the stock transformer chain; this is what ML.NET calls when the model is saved.</summary>
    /// <param name="ctx">ML.NET's save context.</param>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_chain).Save(ctx);
}
