using System.Globalization;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>background-eval</c>: the background-robustness check of docs/milestones-1-2.md. For every seed it writes the
/// seed's validation photos with their background replaced (<see cref="BackgroundCopies"/>: black, white, grey, red,
/// green, blue, noise; 28×28 grey .npy, 0-255) under --copies/seed-N, then scores RUN/seed-N/model.zip of every
/// given run folder on them and prints the accuracy per background (mean over the seeds).
/// Usage: background-eval --data ROOT [--classes 6,8|all] --seeds 1,2,3,4,5 --copies DIR RUN...
/// </summary>
internal static class BackgroundEval
{
    public static int Run(string[] args)
    {
        string? data = null, copies = null, classes = "all";
        var seeds = new[] { 1, 2, 3, 4, 5 };
        var runs = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data": data = args[++i]; break;
                case "--copies": copies = args[++i]; break;
                case "--classes": classes = args[++i]; break;
                case "--seeds": seeds = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                default: runs.Add(args[i]); break;
            }
        }
        if (copies is null || runs.Count == 0)
        {
            Console.Error.WriteLine("Usage: background-eval --data ROOT [--classes 6,8|all] [--seeds 1,2,3,4,5] --copies DIR RUN...");
            return 2;
        }
        var totals = runs.ToDictionary(r => r, _ => new Dictionary<string, List<double>>());
        foreach (var seed in seeds)
        {
            var folder = Path.Combine(copies, $"seed-{seed}");
            if (!File.Exists(Path.Combine(folder, "labels.txt")))
            {
                var experiment = new ExperimentOptions
                {
                    DataRoot = data,
                    Classes = classes == "all" ? null : classes.Split(','),
                    Seed = seed,
                };
                int n = BackgroundCopies.Write(experiment, folder);
                Console.WriteLine($"seed {seed}: {n} validation photos -> {folder}");
            }
            foreach (var run in runs)
            {
                var accuracies = BackgroundCopies.Evaluate(Path.Combine(run, $"seed-{seed}", "model.zip"), folder);
                Console.WriteLine($"{run} seed {seed}: {BackgroundCopies.Describe(accuracies)}");
                foreach (var a in accuracies)
                {
                    if (!totals[run].TryGetValue(a.Background, out var list))
                        totals[run][a.Background] = list = [];
                    list.Add(a.Accuracy);
                }
            }
        }
        foreach (var run in runs)
        {
            Console.WriteLine($"{run} (mean ± std over {seeds.Length} seeds):");
            foreach (var (name, values) in totals[run])
            {
                double mean = values.Average();
                double std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-6} {mean * 100:F1} ± {std * 100:F1} %"));
            }
        }
        return 0;
    }
}
