using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLPipelines.Trainers;

/// <summary>
/// The caller's ML.NET environment as a trainer uses it: messages go to <see cref="MLContext.Log"/>, a seed the
/// options leave out is drawn from the context's random source (so <c>new MLContext(seed: 7)</c> decides it), and
/// ML.NET's cancellation (<c>CancelExecution</c>, from Microsoft.ML.Experimental) stops training between batches.
/// </summary>
/// <remarks>
/// <para>
/// Supported path: every trainer has a constructor taking the <see cref="MLContext"/>; an <see cref="MLContext"/> is a
/// public <see cref="IHostEnvironment"/>, whose public <see cref="IHostEnvironment.Register"/> gives the trainer its
/// <see cref="IHost"/> (random source, channels that write to <c>ml.Log</c>).
/// </para>
/// <para>
/// The catalog extensions (<c>ml.BinaryClassification.Trainers.Mlp(...)</c>) receive only the catalog, and ML.NET
/// keeps a catalog's environment internal (its own packages read it through the internal <c>IInternalCatalog</c>
/// interface). The extensions read that same member by reflection, in this one place; if a future release renames
/// it, they fall back to a private environment seeded by the options (the behaviour before), and the test
/// <c>CallerEnvironmentTests</c> fails so that the change is noticed. Whether ML.NET's execution was cancelled is
/// likewise internal (<c>ICancelable.IsCanceled</c>) and read the same way; the options'
/// <c>CancellationToken</c> is the public way to cancel.
/// </para>
/// </remarks>
internal sealed class CallerEnvironment : IDisposable
{
    private static readonly PropertyInfo? CatalogEnvironment = typeof(BinaryClassificationCatalog).Assembly.GetType("Microsoft.ML.Data.IInternalCatalog")
        ?.GetProperty("Environment");

    private static readonly PropertyInfo? IsCanceledProperty = typeof(IHostEnvironment).Assembly
        .GetType("Microsoft.ML.Runtime.ICancelable")?.GetProperty("IsCanceled");

    private readonly IHost? _host;
    private readonly IChannel? _channel;
    private readonly CancellationTokenSource _cancellation;
    private readonly Timer? _poll;

    /// <summary>Starts a trainer's run in <paramref name="environment"/> (null: no caller environment).</summary>
    public CallerEnvironment(IHostEnvironment? environment, string trainerName, CancellationToken optionsToken)
    {
        _host = environment?.Register(trainerName);
        _channel = _host?.Start("Fit");
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(optionsToken);
        if (_host is not null && IsCanceledProperty is not null && IsCanceledProperty.DeclaringType!.IsInstanceOfType(_host))
            _poll = new Timer(_ => { if (IsCanceled(_host)) _cancellation.Cancel(); }, null, 50, 50);
    }

    /// <summary>The environment behind a trainers catalog, or null when this ML.NET release hides it.</summary>
    public static IHostEnvironment? Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        try
        {
            return CatalogEnvironment is not null && CatalogEnvironment.DeclaringType!.IsInstanceOfType(catalog)
                ? CatalogEnvironment.GetValue(catalog) as IHostEnvironment
                : null;
        }
        catch (TargetInvocationException)
        {
            return null;
        }
    }

    /// <summary>True when a caller environment is attached.</summary>
    public bool HasCaller => _host is not null;

    /// <summary>Cancelled by the options' token or by ML.NET's <c>CancelExecution</c>.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>The options' seed, else one drawn from the caller's context, else <paramref name="fallback"/>.</summary>
    public int Seed(int? optionsSeed, int fallback) => optionsSeed ?? _host?.Rand.Next() ?? fallback;

    /// <summary>Writes an information message to <c>ml.Log</c>.</summary>
    public void Info(string message) => _channel?.Info(MessageSensitivity.None, message);

    /// <summary>Writes a warning to <c>ml.Log</c>.</summary>
    public void Warning(string message) => _channel?.Warning(MessageSensitivity.None, message);

    /// <summary>A progress sink that logs each epoch and forwards it to <paramref name="inner"/>.</summary>
    public IProgress<EpochRecord>? Epochs(IProgress<EpochRecord>? inner, int epochs)
    {
        if (_channel is null)
            return inner;
        return new Forward(r =>
        {
            Info(FormattableString.Invariant($"epoch {r.Epoch}/{epochs}: train loss {r.TrainLoss:G4}, accuracy {r.TrainAccuracy:P2}") +
                (r.ValidationLoss is double vl ? FormattableString.Invariant($", validation loss {vl:G4}, accuracy {r.ValidationAccuracy:P2}") : "") +
                FormattableString.Invariant($", lr {r.LearningRate:G3}, {r.Seconds:F2} s"));
            inner?.Report(r);
            if (_host is not null && IsCanceled(_host))
                _cancellation.Cancel(); // at once, besides the timer: short epochs must not outrun it

        });
    }

    /// <summary>A message sink that writes to <c>ml.Log</c> and forwards to <paramref name="inner"/>.</summary>
    public IProgress<string>? Messages(IProgress<string>? inner) =>
        _channel is null ? inner : new ForwardText(m => { Info(m); inner?.Report(m); });

    /// <summary>Throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public void ThrowIfCancelled()
    {
        if (_host is not null && IsCanceled(_host))
            _cancellation.Cancel();
        _cancellation.Token.ThrowIfCancellationRequested();
    }

    public void Dispose()
    {
        _poll?.Dispose();
        _channel?.Dispose();
        _cancellation.Dispose();
    }

    private static bool IsCanceled(IHost host)
    {
        try
        {
            return IsCanceledProperty?.GetValue(host) is true;
        }
        catch (TargetInvocationException)
        {
            return false;
        }
    }

    private sealed class Forward(Action<EpochRecord> report) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => report(value);
    }

    private sealed class ForwardText(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
