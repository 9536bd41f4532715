using TorchSharp;
using static TorchSharp.torch;

namespace MLPipelines.Torch.Transfer;

/// <summary>
/// A cosine classifier head with an additive cosine margin (CosFace, Wang et al. 2018; "normalized softmax" without
/// the margin): the embedding e and every class weight w_c are L2-normalised and the logits are
/// <c>s · cos θ_c = s · (e / ‖e‖) · (w_c / ‖w_c‖)</c>; in the training loss only, the target class's logit becomes
/// <c>s · (cos θ_y − m)</c>. The head has no bias. Because the logits depend on the embedding's direction alone, the same
/// network is a classifier (argmax of the logits) and a retrieval model (cosine nearest neighbours of the normalised
/// embedding), and the margin pulls each class's embeddings together, away from the other classes.
/// </summary>
/// <remarks>
/// CosFace rather than ArcFace (margin on the angle, cos(θ_y + m)): the additive cosine margin needs no arccos, whose
/// gradient is unbounded near cos θ = ±1, and no "easy margin" special case when θ_y + m exceeds π; fine-tuning a
/// pretrained network for a few epochs on a few thousand images starts with large angles, where ArcFace's margin is
/// unstable. The settings are copied by the backbone that receives them (<see cref="TorchBackbone.ReplaceHead"/>).
/// </remarks>
public sealed class CosineHead
{
    /// <summary>The default values of <see cref="CosineHead"/>, the one source every caller reads.</summary>
    public static class Defaults
    {
        /// <summary>The scale s: 16 (enough for 196 classes: softmax can reach 0.99 on the true class with cos margins well below 1).</summary>
        public const double Scale = 16;

        /// <summary>The additive cosine margin m: 0.2.</summary>
        public const double Margin = 0.2;
    }

    /// <summary>The scale s multiplying the cosines; positive. The default value is 16.</summary>
    public double Scale { get; set; } = Defaults.Scale;

    /// <summary>The additive margin m subtracted from the target class's cosine in the training loss, in [0, 1); 0 is plain normalised softmax. The default value is 0.2.</summary>
    public double Margin { get; set; } = Defaults.Margin;

    /// <summary>A copy of these settings.</summary>
    public CosineHead Clone() => new() { Scale = Scale, Margin = Margin };

    /// <summary>Throws <see cref="ArgumentException"/> naming the invalid setting.</summary>
    public void Validate()
    {
        if (!(Scale > 0) || double.IsInfinity(Scale))
            throw new ArgumentException($"CosineHead.Scale must be positive and finite, got {Scale}.", nameof(Scale));
        if (!(Margin >= 0 && Margin < 1))
            throw new ArgumentException($"CosineHead.Margin must be in [0, 1), got {Margin}.", nameof(Margin));
    }

    /// <summary>
    /// The logits s · cos θ of L2-normalised <paramref name="features"/> [N, D] against the L2-normalised rows of
    /// <paramref name="weight"/> [K, D] (norms clamped below at 1e-12, as torch's F.normalize).
    /// </summary>
    /// <param name="features">Embeddings [N, D].</param>
    /// <param name="weight">Class weights [K, D].</param>
    /// <returns>[N, K].</returns>
    public Tensor Logits(Tensor features, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = NewDisposeScope();
        var e = Normalize(features);
        var w = Normalize(weight);
        return e.matmul(w.t()).mul_(Scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The training logits: <paramref name="logits"/> (s · cos θ) with s · m subtracted from each row's target class,
    /// i.e. s · (cos θ_y − m). Returns a new tensor; <paramref name="logits"/> is not changed.
    /// </summary>
    /// <param name="logits">s · cos θ [N, K].</param>
    /// <param name="labels">Target classes [N] (int64).</param>
    /// <returns>[N, K].</returns>
    public Tensor WithMargin(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (Margin == 0)
            return logits.alias();
        using var scope = NewDisposeScope();
        var margin = nn.functional.one_hot(labels.to(ScalarType.Int64), logits.shape[1]).to(logits.dtype).mul_(Scale * Margin);
        return logits.sub(margin).MoveToOuterDisposeScope();
    }

    /// <summary>Each row divided by max(its L2 norm, 1e-12).</summary>
    /// <param name="x">[N, D].</param>
    /// <returns>[N, D].</returns>
    internal static Tensor Normalize(Tensor x)
    {
        using var norm = x.norm(1, keepdim: true, p: 2);
        using var clamped = norm.clamp_min(1e-12);
        return x.div(clamped);
    }

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"cosine(s={Scale:R},m={Margin:R})");
}
