using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using MLPipelines.Data;
using MLPipelines.Pipelines.ImageClassification;
using MLPipelines.Pipelines.Milestones;
using MLPipelines.Serving;
using MLPipelines.Testing;
using MLPipelines.Tests.Data;
using MLPipelines.Tests.Knn;

namespace MLPipelines.Tests.Serving;

/// <summary>
/// Real models trained in seconds on generated images, shared by the serving tests: a binary m1 run (classes a, b;
/// 28 px) and an m3-knn run with a generated backbone (classes a, b, c; its knn-index.npz).
/// </summary>
public sealed class ServingFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public ServingFixture()
    {
        string data = SyntheticImages.Write(_dir.Combine("m1-data", SignLanguageDigits.FolderName), ["a", "b"], perClass: 25, seed: 4, size: 28, noise: 60);
        M1Data = data;
        M1Run = _dir.Combine("m1");
        Milestone1.Run(new ExperimentOptions { DataRoot = Path.GetDirectoryName(data), Seed = 2, OutputDirectory = M1Run }, new Milestone1Options { Epochs = 20 });
        var (knnData, knnRun, _) = M3KnnFixture.Run(_dir);
        KnnData = knnData;
        KnnRun = knnRun;
    }

    /// <summary>The m1 training images (a/, b/).</summary>
    public string M1Data { get; }

    /// <summary>The m1 run folder (model.zip, metrics.json).</summary>
    public string M1Run { get; }

    /// <summary>The m3-knn images (a/, b/, c/).</summary>
    public string KnnData { get; }

    /// <summary>The m3-knn run folder (model.zip, knn-index.npz).</summary>
    public string KnnRun { get; }

    /// <summary>A scratch folder.</summary>
    public string Scratch(string name)
    {
        string path = _dir.Combine("scratch-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>Starts serving apps on the in-process test server or on Kestrel (127.0.0.1, a free port).</summary>
internal static class ServingApps
{
    public static async Task<(WebApplication App, HttpClient Client)> StartTestServer(ServingOptions options)
    {
        var builder = ServingHost.CreateBuilder(ServedModel.Load(options));
        builder.WebHost.UseTestServer();
        var app = ServingHost.Build(builder);
        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    public static async Task<(WebApplication App, Uri Address)> StartKestrel(ServingOptions options)
    {
        options.Urls = "http://127.0.0.1:0";
        var app = ServingHost.Build(ServingHost.CreateBuilder(ServedModel.Load(options)));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }

    public static MultipartFormDataContent Form(params (string Field, string Name, byte[] Bytes)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (field, name, bytes) in files)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, field, name);
        }
        return form;
    }

    public static MultipartFormDataContent Image(string path) => Form(("image", Path.GetFileName(path), File.ReadAllBytes(path)));

    public static async Task<(int Status, JsonElement Json)> Send(HttpClient client, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        JsonElement json;
        try
        {
            json = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"{method} {path} answered {(int)response.StatusCode} with a body that is not JSON: '{text[..Math.Min(200, text.Length)]}'");
        }
        if (response.Content.Headers.ContentType?.MediaType != "application/json")
            throw new Xunit.Sdk.XunitException($"{method} {path}: content type {response.Content.Headers.ContentType}");
        return ((int)response.StatusCode, json);
    }

    public static Task<(int Status, JsonElement Json)> Post(HttpClient client, string path, HttpContent content) => Send(client, HttpMethod.Post, path, content);
}
