using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Training;

/// <summary>
/// A training batch after <see cref="MixUpCutMix"/>: every image i is a mix of image i (weight <see cref="Lambda"/>)
/// and its partner, image B - 1 - i of the same batch (weight 1 - <see cref="Lambda"/>), so its target is the soft
/// label <see cref="Lambda"/> · onehot(y_i) + (1 - <see cref="Lambda"/>) · onehot(y_partner).
/// </summary>
/// <param name="Images">The mixed images [B, C, H, W].</param>
/// <param name="Labels">The labels of the images [B] (int64).</param>
/// <param name="PartnerLabels">The labels of the partners [B] (int64).</param>
/// <param name="Lambda">The weight of each image's own label, in [0, 1].</param>
public sealed record MixedBatch(Tensor Images, Tensor Labels, Tensor PartnerLabels, double Lambda)
{
    /// <summary>
    /// The soft-target cross-entropy of <paramref name="logits"/>: λ CE(y) + (1 - λ) CE(y_partner), each with label
    /// smoothing <paramref name="labelSmoothing"/>. Without <paramref name="targetLogits"/>, cross-entropy is linear in the
    /// target distribution, so this equals the cross-entropy against the smoothed soft labels <see cref="SoftTargets"/>
    /// (the tests check it); with it, each term sees its own adjusted logits.
    /// </summary>
    /// <param name="logits">Logits [B, K].</param>
    /// <param name="labelSmoothing">Label smoothing in [0, 1).</param>
    /// <param name="targetLogits">
    /// The logits each cross-entropy term sees for its targets, e.g. a cosine head's margin subtracted from the target
    /// class (<c>(logits, labels) =&gt; logits'</c>); null uses <paramref name="logits"/> for both terms.
    /// </param>
    public Tensor Loss(Tensor logits, double labelSmoothing, Func<Tensor, Tensor, Tensor>? targetLogits = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        using var own = CrossEntropy(logits, Labels, labelSmoothing, targetLogits);
        if (Lambda >= 1)
            return own.alias();
        using var partner = CrossEntropy(logits, PartnerLabels, labelSmoothing, targetLogits);
        return own * Lambda + partner * (1 - Lambda);
    }

    private static Tensor CrossEntropy(Tensor logits, Tensor labels, double labelSmoothing, Func<Tensor, Tensor, Tensor>? targetLogits)
    {
        if (targetLogits is null)
            return nn.functional.cross_entropy(logits, labels, label_smoothing: labelSmoothing);
        var adjusted = targetLogits(logits, labels);
        try
        {
            return nn.functional.cross_entropy(adjusted, labels, label_smoothing: labelSmoothing);
        }
        finally
        {
            if (!ReferenceEquals(adjusted, logits)) // the function may hand back its input
                adjusted.Dispose();
        }
    }

    /// <summary>The soft labels [B, K]: λ onehot(y) + (1 - λ) onehot(y_partner), then smoothed: (1 - ε) t + ε / K.</summary>
    /// <param name="classes">K.</param>
    /// <param name="labelSmoothing">ε in [0, 1).</param>
    public Tensor SoftTargets(int classes, double labelSmoothing = 0)
    {
        using var scope = torch.NewDisposeScope();
        var own = nn.functional.one_hot(Labels, classes).to(ScalarType.Float32);
        var partner = nn.functional.one_hot(PartnerLabels, classes).to(ScalarType.Float32);
        var t = own * Lambda + partner * (1 - Lambda);
        t = t * (1 - labelSmoothing) + labelSmoothing / classes;
        return t.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a training batch, as in timm's Mixup: with probability
/// <see cref="Probability"/> a batch is mixed with itself in reverse order; one λ ~ Beta(α, α) per batch; when both
/// are enabled, CutMix is chosen with probability <see cref="SwitchProbability"/>. MixUp blends whole images
/// (λ x_i + (1 - λ) x_partner); CutMix pastes the partner's pixels into a box of about (1 - λ) of the area, centred
/// uniformly and clipped at the border, and λ becomes 1 - (box area / image area) exactly. The trainer then uses the
/// soft targets (<see cref="MixedBatch.Loss"/>). Every random value comes from the trainer's generator.
/// </summary>
public sealed class MixUpCutMix
{
    /// <summary>Creates the mixer; the arguments are validated (ArgumentException naming the argument).</summary>
    /// <param name="mixupAlpha">α of MixUp's Beta(α, α); 0 disables MixUp.</param>
    /// <param name="cutmixAlpha">α of CutMix's Beta(α, α); 0 disables CutMix.</param>
    /// <param name="probability">Probability that a batch is mixed at all, in [0, 1].</param>
    /// <param name="switchProbability">Probability of CutMix when both are enabled, in [0, 1].</param>
    public MixUpCutMix(double mixupAlpha = 0.2, double cutmixAlpha = 1.0, double probability = 1.0, double switchProbability = 0.5)
    {
        if (!(mixupAlpha >= 0) || double.IsInfinity(mixupAlpha))
            throw new ArgumentException($"mixupAlpha must be non-negative and finite, got {mixupAlpha}.", nameof(mixupAlpha));
        if (!(cutmixAlpha >= 0) || double.IsInfinity(cutmixAlpha))
            throw new ArgumentException($"cutmixAlpha must be non-negative and finite, got {cutmixAlpha}.", nameof(cutmixAlpha));
        if (mixupAlpha == 0 && cutmixAlpha == 0)
            throw new ArgumentException("At least one of mixupAlpha and cutmixAlpha must be positive.", nameof(mixupAlpha));
        if (!(probability >= 0 && probability <= 1))
            throw new ArgumentException($"probability must be in [0, 1], got {probability}.", nameof(probability));
        if (!(switchProbability >= 0 && switchProbability <= 1))
            throw new ArgumentException($"switchProbability must be in [0, 1], got {switchProbability}.", nameof(switchProbability));
        MixupAlpha = mixupAlpha;
        CutmixAlpha = cutmixAlpha;
        Probability = probability;
        SwitchProbability = switchProbability;
    }

    /// <summary>α of MixUp (0 = off).</summary>
    public double MixupAlpha { get; }

    /// <summary>α of CutMix (0 = off).</summary>
    public double CutmixAlpha { get; }

    /// <summary>Probability that a batch is mixed.</summary>
    public double Probability { get; }

    /// <summary>Probability of CutMix when both are enabled.</summary>
    public double SwitchProbability { get; }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant(
        $"mixup {MixupAlpha:R} cutmix {CutmixAlpha:R} p {Probability:R} switch {SwitchProbability:R}");

    /// <summary>Mixes a batch; see the class remarks. Neither input is modified.</summary>
    /// <param name="images">Images [B, C, H, W].</param>
    /// <param name="labels">Labels [B] (int64).</param>
    /// <param name="generator">The CPU generator every random value is drawn from.</param>
    public MixedBatch Apply(Tensor images, Tensor labels, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(generator);
        if (images.dim() != 4)
            throw new ArgumentException($"MixUp/CutMix need images [B, C, H, W], got shape [{string.Join(", ", images.shape)}].", nameof(images));
        var draws = new Draws(generator);
        bool mix = draws.Uniform() < Probability;
        bool cutmix = CutmixAlpha > 0 && (MixupAlpha == 0 || draws.Uniform() < SwitchProbability);
        if (!mix)
            return new MixedBatch(images.alias(), labels.alias(), labels.alias(), 1.0);
        double lambda = Beta(cutmix ? CutmixAlpha : MixupAlpha, draws);
        var partnerLabels = labels.flip(0);
        if (!cutmix)
        {
            using var partner = images.flip(0);
            return new MixedBatch(images * lambda + partner * (1 - lambda), labels.alias(), partnerLabels, lambda);
        }
        long height = images.shape[2], width = images.shape[3];
        var (y0, x0, h, w) = Box(height, width, lambda, draws.Uniform(), draws.Uniform());
        var mixed = images.clone();
        if (h > 0 && w > 0)
        {
            using var partner = images.flip(0);
            using var source = partner.narrow(2, y0, h).narrow(3, x0, w);
            using var target = mixed.narrow(2, y0, h).narrow(3, x0, w);
            target.copy_(source);
        }
        double area = (double)h * w / (height * width);
        return new MixedBatch(mixed, labels.alias(), partnerLabels, 1 - area);
    }

    /// <summary>
    /// CutMix's box for <paramref name="lambda"/>: sides √(1 - λ) · H and √(1 - λ) · W (rounded down), centred at
    /// (u · H, v · W) and clipped to the image: (top, left, height, width).
    /// </summary>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="lambda">λ in [0, 1].</param>
    /// <param name="u">Uniform in [0, 1): the centre row as a fraction of H.</param>
    /// <param name="v">Uniform in [0, 1): the centre column as a fraction of W.</param>
    public static (int Top, int Left, int Height, int Width) Box(long height, long width, double lambda, double u, double v)
    {
        double r = Math.Sqrt(Math.Clamp(1 - lambda, 0, 1));
        long ch = (long)(height * r), cw = (long)(width * r);
        long cy = Math.Min(height - 1, (long)(u * height)), cx = Math.Min(width - 1, (long)(v * width));
        long top = Math.Clamp(cy - ch / 2, 0, height), bottom = Math.Clamp(cy + ch / 2, 0, height);
        long left = Math.Clamp(cx - cw / 2, 0, width), right = Math.Clamp(cx + cw / 2, 0, width);
        return ((int)top, (int)left, (int)(bottom - top), (int)(right - left));
    }

    /// <summary>A Beta(α, α) draw as G1 / (G1 + G2) with Gamma(α) draws (Marsaglia and Tsang).</summary>
    private static double Beta(double alpha, Draws draws)
    {
        double g1 = Gamma(alpha, draws), g2 = Gamma(alpha, draws);
        return g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
    }

    private static double Gamma(double alpha, Draws draws)
    {
        if (alpha < 1)
            return Gamma(alpha + 1, draws) * Math.Pow(Math.Max(draws.Uniform(), 1e-12), 1 / alpha);
        double d = alpha - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = draws.Normal(), v = 1 + c * x;
            if (v <= 0)
                continue;
            v = v * v * v;
            double u = draws.Uniform();
            if (Math.Log(Math.Max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * Math.Log(v))
                return d * v;
        }
    }

    /// <summary>Scalars from the generator, drawn in blocks.</summary>
    private sealed class Draws(Generator generator)
    {
        private float[] _uniform = [];
        private float[] _normal = [];
        private int _u, _n;

        public double Uniform()
        {
            if (_u == _uniform.Length)
            {
                using var t = torch.rand([16], dtype: ScalarType.Float32, generator: generator);
                _uniform = t.data<float>().ToArray();
                _u = 0;
            }
            return _uniform[_u++];
        }

        public double Normal()
        {
            if (_n == _normal.Length)
            {
                using var t = torch.randn([16], dtype: ScalarType.Float32, generator: generator);
                _normal = t.data<float>().ToArray();
                _n = 0;
            }
            return _normal[_n++];
        }
    }
}
