using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Mlp;
using MLPipelines.Trainers.OnnxModel;

namespace MLPipelines.Trainers.Mlp;

/// <summary>
/// A fitted MLP classifier: stock ML.NET transformers running the network compiled to ONNX, plus the learned
/// weights and the training history (available on the fitted instance, not after loading a zip).
/// </summary>
public sealed class MlpModel : OnnxBackedModel
{
    internal MlpModel(TransformerChain<ITransformer> chain, byte[] onnx, MlpTrainingResult result, IReadOnlyList<string> classes)
        : base(chain, onnx)
    {
        Network = result.Network;
        History = result.History;
        TrainSeconds = result.TrainSeconds;
        SamplesPerSecond = result.SamplesPerSecond;
        Classes = classes;
    }

    /// <summary>The trained network (layer weights and biases).</summary>
    public MlpNetwork Network { get; }

    /// <summary>Loss and accuracy per epoch, the best epoch and whether training stopped early.</summary>
    public TrainingHistory History { get; }

    /// <summary>Wall-clock seconds spent in the training loop.</summary>
    public double TrainSeconds { get; }

    /// <summary>Training throughput in samples per second.</summary>
    public double SamplesPerSecond { get; }

    /// <summary>Class names in output order (binary: "False", "True").</summary>
    public IReadOnlyList<string> Classes { get; }
}
