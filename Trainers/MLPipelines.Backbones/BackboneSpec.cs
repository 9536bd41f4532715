using Microsoft.ML.Transforms.Image;
using MLPipelines.Onnx;

namespace MLPipelines.Backbones;

/// <summary>Memory layout of the image tensor a backbone expects.</summary>
public enum BackboneLayout
{
    /// <summary>[N, C, H, W] (PyTorch, CNTK, most ONNX exports).</summary>
    Nchw,

    /// <summary>[N, H, W, C] (TensorFlow/Keras exports); the compiled graph adds a Transpose.</summary>
    Nhwc,
}

/// <summary>
/// How 0-255 RGB pixels become the backbone's input, applied per channel in this order:
/// optional RGB→BGR swap, then <c>y = (x × PixelScale − mean) / Std[c]</c>, where mean is <see cref="MeanImage"/>
/// (a per-pixel mean image) when set, otherwise <see cref="Mean"/>[c]. Channel indices refer to the order after the swap.
/// </summary>
public sealed record PixelNormalization
{
    /// <summary>Multiplier applied to the 0-255 pixel values first (1/255 for torchvision models). Default 1.</summary>
    public float PixelScale { get; init; } = 1f;

    /// <summary>Per-channel mean subtracted after scaling (three values). Default zeros.</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Per-channel divisor applied last (three values). Default ones.</summary>
    public IReadOnlyList<float> Std { get; init; } = [1f, 1f, 1f];

    /// <summary>Reorder channels R,G,B → B,G,R before the rest (Caffe/CNTK models). Default false.</summary>
    public bool SwapRgbToBgr { get; init; }

    /// <summary>
    /// A per-pixel mean image [3, S, S] (channel order after the swap, C order) subtracted instead of <see cref="Mean"/>;
    /// null for a per-channel mean. Default null.
    /// </summary>
    public IReadOnlyList<float>? MeanImage { get; init; }

    /// <summary>Raw 0-255 pixels, unchanged.</summary>
    public static PixelNormalization None { get; } = new();

    /// <summary>torchvision / ONNX zoo ImageNet normalisation: pixels/255, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225), RGB.</summary>
    public static PixelNormalization ImageNet { get; } = new()
    {
        PixelScale = 1f / 255f,
        Mean = [0.485f, 0.456f, 0.406f],
        Std = [0.229f, 0.224f, 0.225f],
    };

    /// <summary>
    /// The normalisation of ML.NET's ResNet-18 featurizer, read from its <c>ResNetPreprocess.onnx</c>: the graph splits
    /// the 0-255 RGB planes, concatenates them as B,G,R and subtracts the initializer <c>MeanImage</c> [1,3,224,224]
    /// (a per-pixel ImageNet mean image in BGR order, values about 95-130; not a per-channel constant).
    /// </summary>
    /// <param name="preprocessModelPath">The preprocessing model; default <see cref="BackboneFiles.ResNetPreprocessPath"/>.</param>
    /// <returns>A BGR swap plus mean-image subtraction on 0-255 pixels.</returns>
    /// <exception cref="InvalidDataException">The model does not have the expected Split → Concat(B,G,R) → Sub(MeanImage) structure.</exception>
    public static PixelNormalization FromResNetPreprocessModel(string? preprocessModelPath = null)
    {
        string path = preprocessModelPath ?? BackboneFiles.ResNetPreprocessPath;
        var graph = OnnxModelIO.Load(path).Graph ?? throw new InvalidDataException($"'{path}' has no graph.");
        var split = graph.Nodes.SingleOrDefault(n => n.OpType == "Split");
        var concat = graph.Nodes.SingleOrDefault(n => n.OpType == "Concat");
        var sub = graph.Nodes.SingleOrDefault(n => n.OpType == "Sub");
        if (graph.Nodes.Count != 3 || split is null || concat is null || sub is null || split.Outputs.Count != 3 || concat.Inputs.Count != 3)
            throw new InvalidDataException($"'{path}' is not the expected Split → Concat → Sub preprocessing graph.");
        bool swap = concat.Inputs[0] == split.Outputs[2] && concat.Inputs[1] == split.Outputs[1] && concat.Inputs[2] == split.Outputs[0];
        bool keep = concat.Inputs.SequenceEqual(split.Outputs);
        if (!swap && !keep) throw new InvalidDataException($"'{path}': unexpected channel order in Concat.");
        var mean = graph.FindInitializer(sub.Inputs[1]) ?? throw new InvalidDataException($"'{path}': Sub's second input is not an initializer.");
        if (mean.Dims.Count != 4 || mean.Dims[0] != 1 || mean.Dims[1] != 3)
            throw new InvalidDataException($"'{path}': mean tensor {mean} is not [1,3,H,W].");
        return new PixelNormalization { SwapRgbToBgr = swap, MeanImage = mean.GetFloats() };
    }

    internal void Validate(int imageSize)
    {
        if (!float.IsFinite(PixelScale) || PixelScale == 0) throw new ArgumentException("PixelScale must be finite and non-zero.");
        if (Mean is null || Mean.Count != 3 || Mean.Any(v => !float.IsFinite(v))) throw new ArgumentException("Mean must hold three finite values.");
        if (Std is null || Std.Count != 3 || Std.Any(v => !float.IsFinite(v) || v == 0)) throw new ArgumentException("Std must hold three finite non-zero values.");
        if (MeanImage is not null && MeanImage.Count != 3 * imageSize * imageSize)
        {
            throw new ArgumentException($"MeanImage holds {MeanImage.Count} values; an image size of {imageSize} needs 3×{imageSize}×{imageSize} = {3 * imageSize * imageSize}.");
        }
    }
}

/// <summary>
/// Describes a pretrained image backbone for <see cref="Backbone.Compile(BackboneSpec)"/>: the ONNX file, its tensor
/// names, the input size and layout, the pixel normalisation, the embedding size and an optional intermediate tensor at
/// which to cut the graph. Presets: <see cref="ResNet18"/>, <see cref="ResNet50"/>, <see cref="DenseNet121"/>,
/// <see cref="MobileNetV2"/>; change any property with a <c>with</c> expression.
/// </summary>
public sealed record BackboneSpec
{
    /// <summary>Display name, e.g. "ResNet18".</summary>
    public required string Name { get; init; }

    /// <summary>Path of the backbone's .onnx file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Name of the model's image input tensor.</summary>
    public required string InputName { get; init; }

    /// <summary>Name of the model output that holds the features (used when <see cref="CutAt"/> is null).</summary>
    public required string OutputName { get; init; }

    /// <summary>
    /// Optional intermediate tensor to use as the features instead of <see cref="OutputName"/> (e.g. the global-pool
    /// output before a classifier). The tensor becomes the graph output and nodes it does not need are pruned. When it
    /// is an int8/uint8 tensor produced by a quantized operator (QLinearConv, QLinearAdd, QLinearMatMul,
    /// QLinearGlobalAveragePool, QLinearAveragePool, QuantizeLinear), a DequantizeLinear with that operator's output
    /// scale and zero point is added. Default null.
    /// </summary>
    public string? CutAt { get; init; }

    /// <summary>Images are resized to ImageSize × ImageSize. Default 224.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Layout of the model input. Default <see cref="BackboneLayout.Nchw"/>.</summary>
    public BackboneLayout Layout { get; init; } = BackboneLayout.Nchw;

    /// <summary>How 0-255 RGB pixels are normalised. Default <see cref="PixelNormalization.ImageNet"/>.</summary>
    public PixelNormalization Normalization { get; init; } = PixelNormalization.ImageNet;

    /// <summary>Number of features per image (product of the feature tensor's non-batch dimensions).</summary>
    public required int EmbeddingSize { get; init; }

    /// <summary>How ML.NET's ResizeImages fits non-square images. Default <see cref="ImageResizingEstimator.ResizingKind.IsoCrop"/> (scale the shorter side, centre crop).</summary>
    public ImageResizingEstimator.ResizingKind Resizing { get; init; } = ImageResizingEstimator.ResizingKind.IsoCrop;

    /// <summary>
    /// Whether the embedding of an image is the mean of the embeddings of the image and of its horizontal mirror (the
    /// compiled graph runs the network on both; twice the inference cost). The retrieval counterpart of a classifier's
    /// test-time mirroring. Default false.
    /// </summary>
    public bool MirrorAverage { get; init; }

    /// <summary>Length of the flat pixel vector the compiled graph takes: 3 × ImageSize × ImageSize.</summary>
    public int PixelCount => 3 * ImageSize * ImageSize;

    /// <summary>
    /// ML.NET's pretrained ImageNet ResNet-18 (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18, CNTK 2.6 export, opset 8):
    /// input <c>Input247</c> [1,3,224,224], output <c>Pooling395_Output_0</c> [1,512,1,1] (global average pool, no
    /// classifier), normalisation read from <c>ResNetPreprocess.onnx</c> (BGR, minus a mean image, 0-255 scale).
    /// </summary>
    /// <param name="modelPath">Default <see cref="BackboneFiles.ResNet18Path"/>.</param>
    /// <param name="preprocessModelPath">Default <see cref="BackboneFiles.ResNetPreprocessPath"/>.</param>
    /// <returns>The preset; 512 features.</returns>
    public static BackboneSpec ResNet18(string? modelPath = null, string? preprocessModelPath = null) => new()
    {
        Name = "ResNet18",
        ModelPath = modelPath ?? BackboneFiles.ResNet18Path,
        InputName = "Input247",
        OutputName = "Pooling395_Output_0",
        EmbeddingSize = 512,
        Normalization = PixelNormalization.FromResNetPreprocessModel(preprocessModelPath),
    };

    /// <summary>
    /// A torchvision ResNet-50 exported to ONNX with its classifier removed (<c>model.fc = Identity()</c>), so that
    /// the output is the 2048 pooled features: input <c>input</c> [N,3,224,224] RGB, pixels/255 with ImageNet mean/std.
    /// For an export that keeps the classifier, pass the pooled tensor's name as <paramref name="cutAt"/>.
    /// </summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="inputName">Default "input".</param>
    /// <param name="outputName">Default "output".</param>
    /// <param name="cutAt">Optional intermediate tensor (see <see cref="CutAt"/>).</param>
    /// <returns>The preset; 2048 features.</returns>
    public static BackboneSpec ResNet50(string modelPath, string inputName = "input", string outputName = "output", string? cutAt = null) => new()
    {
        Name = "ResNet50",
        ModelPath = modelPath,
        InputName = inputName,
        OutputName = outputName,
        CutAt = cutAt,
        EmbeddingSize = 2048,
    };

    /// <summary>
    /// A torchvision DenseNet-121 exported to ONNX with its classifier removed (<c>model.classifier = Identity()</c>):
    /// input <c>input</c> [N,3,224,224] RGB, pixels/255 with ImageNet mean/std, output the 1024 pooled features.
    /// </summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="inputName">Default "input".</param>
    /// <param name="outputName">Default "output".</param>
    /// <param name="cutAt">Optional intermediate tensor (see <see cref="CutAt"/>).</param>
    /// <returns>The preset; 1024 features.</returns>
    public static BackboneSpec DenseNet121(string modelPath, string inputName = "input", string outputName = "output", string? cutAt = null) => new()
    {
        Name = "DenseNet121",
        ModelPath = modelPath,
        InputName = inputName,
        OutputName = outputName,
        CutAt = cutAt,
        EmbeddingSize = 1024,
    };

    /// <summary>
    /// The ONNX Model Zoo's int8 MobileNetV2 (<c>mobilenetv2-12-int8.onnx</c>, Apache-2.0): input <c>input</c>
    /// [N,3,224,224] RGB, pixels/255 with ImageNet mean/std; cut at <c>464_quantized</c>, the quantized global-average-pool
    /// output before the classifier (dequantized in the compiled graph), giving 1280 features.
    /// </summary>
    /// <param name="modelPath">The zoo file.</param>
    /// <returns>The preset; 1280 features.</returns>
    public static BackboneSpec MobileNetV2(string modelPath) => new()
    {
        Name = "MobileNetV2",
        ModelPath = modelPath,
        InputName = "input",
        OutputName = "output",
        CutAt = "464_quantized",
        EmbeddingSize = 1280,
    };

    /// <summary>Checks the spec.</summary>
    /// <exception cref="ArgumentException">A property is invalid; the message names it.</exception>
    /// <exception cref="FileNotFoundException"><see cref="ModelPath"/> does not exist.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath)) throw new ArgumentException("ModelPath must not be empty.", nameof(ModelPath));
        if (!File.Exists(ModelPath)) throw new FileNotFoundException($"Backbone model '{ModelPath}' ({Name}) does not exist.", ModelPath);
        if (string.IsNullOrWhiteSpace(InputName)) throw new ArgumentException("InputName must not be empty.", nameof(InputName));
        if (string.IsNullOrWhiteSpace(OutputName)) throw new ArgumentException("OutputName must not be empty.", nameof(OutputName));
        if (ImageSize is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be in 1..4096.");
        if (EmbeddingSize < 1) throw new ArgumentOutOfRangeException(nameof(EmbeddingSize), EmbeddingSize, "EmbeddingSize must be positive.");
        if (Normalization is null) throw new ArgumentException("Normalization must not be null.", nameof(Normalization));
        Normalization.Validate(ImageSize);
    }
}
