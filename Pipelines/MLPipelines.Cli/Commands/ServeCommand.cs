using MLPipelines.Serving;

namespace MLPipelines.Cli.Commands;

/// <summary><c>mlpipelines serve</c>: an HTTP API and a web page for a model zip (and an m3-knn index).</summary>
internal sealed class ServeCommand : ICommand
{
    public string Name => "serve";

    public string Summary => "Serve a model.zip over HTTP: /predict, /similar (m3-knn index), a web page.";

    public IReadOnlySet<string> Flags { get; } = new HashSet<string> { "--json-logs" };

    public string Usage => """
        mlpipelines serve --model RUN_DIR|model.zip [--index M3KNN_RUN_DIR] [--urls http://127.0.0.1:5000]
                          [--max-request-mb 20] [--max-image-pixels 40000000] [--top-k 10] [--scoring pool|batch]
                          [--json-logs]

        Serves any model zip of m1, m2, m3-cnn, m3-transfer or m3-knn until Ctrl-C / SIGTERM:
          GET  /            a web page: drop an image, see the class probabilities and the similar images
          GET  /healthz     200 when the model is loaded
          GET  /model       the model card: kind, classes, image size, metrics (metrics.json), ML.NET version
          POST /predict     multipart field 'image' (one or more JPEG/PNG/BMP/WebP files) or a .npy body
                            -> {"label", "probability", "scores"}; several files -> an array (per-file errors)
          POST /similar?k=8 one image -> {"label", "neighbors": [{"rank", "label", "distance", "source", "thumbnail_url"}]}
                            (needs --index: an m3-knn run folder with model.zip and knn-index.npz)
          GET  /images/ID   an indexed image (only those of the index)
          --max-request-mb    larger requests get 413 (JSON)
          --max-image-pixels  larger images (width x height) get 400 (JSON), checked before decoding
          --top-k             'scores' lists the k most probable classes when the model has more
          --scoring           pool: one prediction engine per request from a pool (default, measured faster);
                              batch: concurrent requests scored together by one worker
          --json-logs         one JSON object per log line (default: one plain line per request)
        Example: curl -F image=@digit.jpg http://127.0.0.1:5000/predict
        """;

    internal sealed record Plan(ServingOptions Options, bool JsonLogs);

    internal static Plan Parse(Arguments args)
    {
        var model = args.String("--model") ?? throw new UsageException("--model RUN_DIR|model.zip is required.");
        var options = new ServingOptions
        {
            ModelPath = model,
            IndexFolder = args.String("--index"),
            Urls = args.String("--urls") ?? "http://127.0.0.1:5000",
            MaxRequestBytes = args.Int("--max-request-mb", 20, 1, 2000) * 1024L * 1024L,
            MaxImagePixels = args.Int("--max-image-pixels", 40_000_000, 1),
            TopK = args.Int("--top-k", 10, 1),
            Scoring = args.Enum("--scoring", ScoringMode.Pool),
        };
        bool json = args.Flag("--json-logs");
        args.EnsureAllUsed();
        if (args.Positionals.Count > 0)
            throw new UsageException($"Unexpected argument '{args.Positionals[0]}'.");
        options.Validate();
        return new Plan(options, json);
    }

    public int Run(Arguments args)
    {
        var plan = Parse(args);
        return ServingHost.Run(plan.Options, plan.JsonLogs);
    }
}
