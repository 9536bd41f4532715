using Microsoft.ML;
using Microsoft.ML.Data;
using MLPipelines.Torch.Training;
using MLPipelines.Trainers.OnnxModel;
using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Trainers.Torch;

/// <summary>
/// A fitted TorchSharp classifier: stock ML.NET transformers running the module compiled to ONNX (so a saved zip
/// loads with stock ML.NET), plus the trained module and the training history (on the fitted instance only).
/// </summary>
public sealed class TorchModel : OnnxBackedModel
{
    internal TorchModel(TransformerChain<ITransformer> chain, byte[] onnx, TorchTrainingResult result, IReadOnlyList<string> classes, int[]? imageShape)
        : base(chain, onnx)
    {
        Module = result.Module;
        History = result.History;
        TrainSeconds = result.TrainSeconds;
        ImagesPerSecond = result.ImagesPerSecond;
        Device = result.Device;
        Classes = classes;
        ImageShape = imageShape;
    }

    /// <summary>The trained module (CPU, eval mode); it outputs logits [B, K] (binary: 2 logits, class 1 = true).</summary>
    public nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>Loss, accuracy and learning rate per epoch, the best epoch and whether training stopped early.</summary>
    public TorchTrainingHistory History { get; }

    /// <summary>Wall-clock seconds of the training loop.</summary>
    public double TrainSeconds { get; }

    /// <summary>Training throughput in rows (images) per second.</summary>
    public double ImagesPerSecond { get; }

    /// <summary>The device training ran on.</summary>
    public string Device { get; }

    /// <summary>Class names in logit order (binary: "False", "True").</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>[C, H, W] when the module received images, null for flat vectors.</summary>
    public IReadOnlyList<int>? ImageShape { get; }
}
