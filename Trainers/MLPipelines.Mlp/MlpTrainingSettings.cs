namespace MLPipelines.Mlp;

/// <summary>Optimisation algorithm.</summary>
public enum OptimizerKind
{
    /// <summary>Plain stochastic gradient descent: w ← w − η g.</summary>
    Sgd,

    /// <summary>SGD with (heavy-ball, optionally Nesterov) momentum: v ← μ v + g; w ← w − η v (Nesterov: w ← w − η (g + μ v)).</summary>
    Momentum,

    /// <summary>Adam (Kingma and Ba, 2015) with bias correction.</summary>
    Adam,
}

/// <summary>Learning-rate schedule, evaluated once per epoch.</summary>
public enum LearningRateSchedule
{
    /// <summary>The learning rate stays at its initial value.</summary>
    Constant,

    /// <summary>η_e = η · γ^⌊e / StepSize⌋ for the zero-based epoch e.</summary>
    Step,

    /// <summary>η_e = η · (1 + cos(π e / Epochs)) / 2 for the zero-based epoch e (cosine annealing to 0).</summary>
    Cosine,

    /// <summary>
    /// Linear warm-up over <see cref="MlpTrainingSettings.WarmupEpochs"/> W, then cosine annealing to 0 in the last epoch
    /// (the epoch-level form of a one-cycle schedule): η_e = η (e + 1) / W for e &lt; W, then
    /// η (1 + cos(π (e − W) / (Epochs − W − 1))) / 2, the same values as TorchSharp's warm-up cosine schedule.
    /// </summary>
    WarmupCosine,
}

/// <summary>Hyper-parameters of training. ML.NET's <c>MlpOptions</c> derives from it, adding column names and the network shape.</summary>
public class MlpTrainingSettings
{
    /// <summary>The default values of <see cref="MlpTrainingSettings"/>, the one source every overload reads.</summary>
    public static class Defaults
    {
        /// <summary>Passes over the training data: 50.</summary>
        public const int Epochs = 50;

        /// <summary>Rows per mini-batch: 32.</summary>
        public const int BatchSize = 32;

        /// <summary>Learning rate: 0.1.</summary>
        public const double LearningRate = 0.1;

        /// <summary>Optimiser: plain SGD.</summary>
        public const OptimizerKind Optimizer = OptimizerKind.Sgd;

        /// <summary>Seed: 1.</summary>
        public const int Seed = 1;
    }

    /// <summary>Gets or sets the number of passes over the training set. The default value is 50.</summary>
    public int Epochs { get; set; } = Defaults.Epochs;

    /// <summary>Gets or sets the mini-batch size. The default value is 32.</summary>
    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Gets or sets the initial learning rate η. The default value is 0.1.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    /// <summary>Gets or sets the optimiser. The default value is <see cref="OptimizerKind.Sgd"/>.</summary>
    public OptimizerKind Optimizer { get; set; } = Defaults.Optimizer;

    /// <summary>Gets or sets the momentum μ of <see cref="OptimizerKind.Momentum"/>, in [0, 1). The default value is 0.9.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Gets or sets a value indicating whether <see cref="OptimizerKind.Momentum"/> uses Nesterov's look-ahead form. The default value is false.</summary>
    public bool Nesterov { get; set; }

    /// <summary>Gets or sets Adam's first-moment decay β1, in [0, 1). The default value is 0.9.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Gets or sets Adam's second-moment decay β2, in [0, 1). The default value is 0.999.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Gets or sets Adam's ε added to the denominator. The default value is 1e-8.</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>
    /// Gets or sets the L2 weight-decay coefficient λ: the loss gains λ/2 · Σ w² over the weights (not the biases),
    /// so every weight gradient gains λ w. The default value is 0.
    /// </summary>
    public double L2 { get; set; }

    /// <summary>Gets or sets the (inverted) dropout probability applied to every hidden layer's output during training, in [0, 1). The default value is 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Gets or sets the learning-rate schedule. The default value is <see cref="LearningRateSchedule.Constant"/>.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Gets or sets the number of epochs between decays of <see cref="LearningRateSchedule.Step"/>. The default value is 10.</summary>
    public int StepSize { get; set; } = 10;

    /// <summary>Gets or sets the decay factor γ of <see cref="LearningRateSchedule.Step"/>, in (0, 1]. The default value is 0.1.</summary>
    public double Gamma { get; set; } = 0.1;

    /// <summary>Gets or sets the warm-up epochs of <see cref="LearningRateSchedule.WarmupCosine"/>. The default value is 3.</summary>
    public int WarmupEpochs { get; set; } = 3;

    /// <summary>
    /// Gets or sets the label smoothing e of the softmax cross-entropy: the target puts 1 − e + e / K on the true class
    /// and e / K on every other one (torch's label_smoothing). Only the softmax (multiclass) output uses it; the
    /// binary sigmoid output ignores it. Validation loss stays plain cross-entropy. The default value is 0.
    /// </summary>
    public double LabelSmoothing { get; set; }

    /// <summary>
    /// Gets or sets the number of epochs without an improvement of the validation loss after which training stops
    /// and the best weights are restored; 0 turns early stopping off. Needs a validation set. The default value is 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Gets or sets the seed of the random generator (initialisation, shuffling, dropout). The default value is 1.</summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Gets or sets a value indicating whether the training set is reshuffled every epoch. The default value is true.</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>
    /// Gets or sets the augmentation applied to every training mini-batch (never to validation data), e.g.
    /// <see cref="RandomShiftAugmenter"/>. The default value is null (no augmentation).
    /// </summary>
    public IBatchAugmenter? Augmenter { get; set; }

    /// <summary>A shallow copy (the same type as this instance), e.g. to change the seed or the augmenter of one run.</summary>
    /// <returns>The copy.</returns>
    public MlpTrainingSettings Clone() => (MlpTrainingSettings)MemberwiseClone();

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public virtual void Validate()
    {
        Check(Epochs > 0, nameof(Epochs), Epochs, "must be positive");
        Check(BatchSize > 0, nameof(BatchSize), BatchSize, "must be positive");
        Check(double.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be a positive finite number");
        Check(Enum.IsDefined(Optimizer), nameof(Optimizer), Optimizer, "is not a known optimiser");
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "must be in [0, 1)");
        Check(Beta1 >= 0 && Beta1 < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Check(Beta2 >= 0 && Beta2 < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Check(double.IsFinite(Epsilon) && Epsilon > 0, nameof(Epsilon), Epsilon, "must be a positive finite number");
        Check(double.IsFinite(L2) && L2 >= 0, nameof(L2), L2, "must be a non-negative finite number");
        Check(Dropout >= 0 && Dropout < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        Check(Enum.IsDefined(Schedule), nameof(Schedule), Schedule, "is not a known schedule");
        Check(StepSize > 0, nameof(StepSize), StepSize, "must be positive");
        Check(Gamma > 0 && Gamma <= 1, nameof(Gamma), Gamma, "must be in (0, 1]");
        Check(WarmupEpochs >= 0, nameof(WarmupEpochs), WarmupEpochs, "must be non-negative");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        Check(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be non-negative");
    }

    /// <summary>The learning rate of the zero-based epoch <paramref name="epoch"/> under <see cref="Schedule"/>.</summary>
    /// <param name="epoch">Zero-based epoch index.</param>
    /// <returns>The learning rate used throughout that epoch.</returns>
    public double LearningRateAt(int epoch) => Schedule switch
    {
        LearningRateSchedule.Step => LearningRate * Math.Pow(Gamma, epoch / StepSize),
        LearningRateSchedule.Cosine => LearningRate * 0.5 * (1 + Math.Cos(Math.PI * epoch / Epochs)),
        LearningRateSchedule.WarmupCosine => LearningRate * WarmupCosineFactor(epoch),
        _ => LearningRate,
    };

    private double WarmupCosineFactor(int epoch)
    {
        if (epoch < WarmupEpochs)
        {
            return (epoch + 1.0) / WarmupEpochs;
        }

        int span = Epochs - WarmupEpochs - 1;
        if (span <= 0)
        {
            return 1.0;
        }

        double t = Math.Min(1.0, (double)(epoch - WarmupEpochs) / span);
        return 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    private static void Check<T>(bool ok, string name, T value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"{name} {rule} (was {value}).", name);
        }
    }
}
