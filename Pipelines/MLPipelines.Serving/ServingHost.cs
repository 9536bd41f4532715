using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MLPipelines.Serving;

/// <summary>
/// The ASP.NET Core (Kestrel) host of <c>mlpipelines serve</c>: <c>GET /healthz</c>, <c>GET /model</c>,
/// <c>POST /predict</c>, <c>POST /similar</c>, <c>GET /images/{id}</c> and the page at <c>GET /</c>
/// (see <see cref="ServingEndpoints"/>). Every error is a JSON body <c>{"error": ..., "status": ...}</c>; one log line per
/// request (method, path, status, latency); Ctrl-C / SIGTERM stop it gracefully (in-flight requests finish).
/// </summary>
public static class ServingHost
{
    /// <summary>Logger category of the request log lines.</summary>
    public const string LogCategory = "MLPipelines.Serving";

    /// <summary>JSON naming of every response: snake_case (e.g. <c>thumbnail_url</c>); class names keep their spelling.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // quotes stay readable in messages
    };

    /// <summary>A builder with Kestrel limits, logging and the model registered; call <see cref="Build"/> after adjusting it (tests use a test server).</summary>
    /// <param name="model">The loaded model; the host disposes it when it stops.</param>
    /// <param name="jsonLogs">Log lines as JSON objects instead of plain single lines.</param>
    public static WebApplicationBuilder CreateBuilder(ServedModel model, bool jsonLogs = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var options = model.Options;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ServingHost).Assembly.GetName().Name });
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.AddServerHeader = false;
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxRequestBytes;
            f.ValueCountLimit = 64;
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Logging.ClearProviders();
        if (jsonLogs)
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        else
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Services.AddSingleton(model);
        return builder;
    }

    /// <summary>Builds the app from <paramref name="builder"/> and maps the endpoints.</summary>
    /// <param name="builder">A builder from <see cref="CreateBuilder"/>.</param>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var app = builder.Build();
        var model = app.Services.GetRequiredService<ServedModel>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        app.Lifetime.ApplicationStopping.Register(() => log.LogInformation("Stopping: finishing the requests in flight"));
        app.Lifetime.ApplicationStopped.Register(model.Dispose);
        app.Use((context, next) => LogAndGuard(context, next, log));
        ServingEndpoints.Map(app, model);
        return app;
    }

    /// <summary>Loads the model, serves it until Ctrl-C or SIGTERM, and returns 0.</summary>
    /// <param name="options">What to serve and where.</param>
    /// <param name="jsonLogs">Log lines as JSON objects.</param>
    public static int Run(ServingOptions options, bool jsonLogs = false)
    {
        var model = ServedModel.Load(options);
        var app = Build(CreateBuilder(model, jsonLogs));
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        log.LogInformation("Serving {Model} ({Producer}, {Task}, {Classes} classes, {Size} px, scoring: {Scoring}){Index} on {Urls}",
            model.ModelPath, model.Card.Producer, model.Card.Task, model.Card.Classes.Length, model.Card.ImageSize, options.Scoring,
            model.Index is { } index ? $"; index {model.IndexFolder} ({index.Count} images)" : "", options.Urls);
        app.Run();
        return 0;
    }

    /// <summary>One log line per request; any error still escaping becomes a JSON answer, never an empty 500.</summary>
    private static async Task LogAndGuard(HttpContext context, RequestDelegate next, ILogger log)
    {
        long start = Stopwatch.GetTimestamp();
        string? error = null;
        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && context.Response.ContentLength is null && context.Response.ContentType is null)
                await WriteError(context, context.Response.StatusCode, context.Response.StatusCode switch
                {
                    404 => $"No endpoint {context.Request.Path}; see GET /model and the page at GET /.",
                    405 => $"{context.Request.Method} is not allowed on {context.Request.Path}.",
                    _ => "The request failed.",
                }).ConfigureAwait(false);
        }
        catch (ServingException e)
        {
            error = e.Message;
            await WriteError(context, e.Status, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            error = e.Message;
            await WriteError(context, e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? TooLarge(context) : e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            error = "client disconnected";
        }
        catch (Exception e)
        {
            error = e.ToString();
            log.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteError(context, 500, $"Internal error: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (error is null)
                log.LogInformation("{Method} {Path} {Status} {ElapsedMs} ms", context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Math.Round(ms, 2));
            else
                log.LogInformation("{Method} {Path} {Status} {ElapsedMs} ms: {Error}", context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Math.Round(ms, 2), error);
        }
    }

    internal static string TooLarge(HttpContext context)
    {
        var model = context.RequestServices.GetRequiredService<ServedModel>();
        return $"The request body is larger than the limit of {model.Options.MaxRequestBytes / (1024.0 * 1024.0):0.#} MB.";
    }

    internal static async Task WriteError(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
            return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new ErrorBody(message, status), JsonOptions).ConfigureAwait(false);
    }

    /// <summary>The body of every error answer.</summary>
    /// <param name="Error">What was wrong.</param>
    /// <param name="Status">The HTTP status.</param>
    public sealed record ErrorBody(string Error, int Status);
}
