using System.Globalization;

namespace MLPipelines;

/// <summary>
/// The divergence check every training loop (the pure-C# MLP, the TorchSharp loop) runs after each epoch: a
/// non-finite mean training loss, or one above <see cref="MaxMeanLoss"/>, stops training with an
/// <see cref="ArgumentException"/> whose parameter is <c>LearningRate</c> (the CLI shows it as <c>--lr</c>), instead of
/// saving a model that has not learned and reporting meaningless metrics.
/// </summary>
public static class DivergenceGuard
{
    /// <summary>
    /// Largest mean cross-entropy (nats per row) treated as training: 1000 means the true class gets on average a
    /// probability of e^-1000, which no learning network produces (a uniform guess over 1000 classes is 6.9).
    /// </summary>
    public const double MaxMeanLoss = 1000;

    /// <summary>Throws when <paramref name="trainLoss"/> shows divergence.</summary>
    /// <param name="epoch">The one-based epoch.</param>
    /// <param name="trainLoss">The epoch's mean training loss.</param>
    /// <param name="learningRate">The learning rate used in the epoch.</param>
    /// <exception cref="ArgumentException">The loss is NaN, infinite or above <see cref="MaxMeanLoss"/> (parameter name "LearningRate").</exception>
    public static void Check(int epoch, double trainLoss, double learningRate)
    {
        if (double.IsFinite(trainLoss) && trainLoss <= MaxMeanLoss)
            return;
        var what = double.IsNaN(trainLoss) ? "NaN" : double.IsInfinity(trainLoss) ? "infinite" : trainLoss.ToString("G3", CultureInfo.InvariantCulture);
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
            $"Training diverged in epoch {epoch}: the mean training loss is {what} (limit {MaxMeanLoss:G}). " +
            $"The learning rate {learningRate:G3} is too high for this network and data; lower LearningRate (e.g. 10 times)."), "LearningRate");
    }
}
