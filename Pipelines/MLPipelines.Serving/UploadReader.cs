using Microsoft.AspNetCore.Http;

namespace MLPipelines.Serving;

/// <summary>One uploaded file, in memory.</summary>
/// <param name="Name">Its file name (multipart) or "body".</param>
/// <param name="Bytes">Its content.</param>
internal sealed record Upload(string Name, byte[] Bytes);

/// <summary>
/// Reads the files of a request into memory, within the size limit: the multipart field <c>image</c> (one or more
/// files), or the whole body (a .npy array or an image, any content type but a form).
/// </summary>
internal static class UploadReader
{
    /// <summary>The multipart field holding the image(s).</summary>
    public const string Field = "image";

    public static async Task<List<Upload>> ReadAsync(HttpContext context, ServingOptions options)
    {
        var request = context.Request;
        long limit = options.MaxRequestBytes;
        if (request.ContentLength > limit)
            throw new ServingException(413, ServingHost.TooLarge(context));
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
            {
                throw new ServingException(413, ServingHost.TooLarge(context));
            }
            catch (InvalidDataException e)
            {
                throw new ServingException(400, $"The multipart form cannot be read: {e.Message}");
            }
            catch (IOException e) when (e is not EndOfStreamException)
            {
                throw new ServingException(400, $"The multipart form cannot be read: {e.Message}");
            }
            var files = form.Files.GetFiles(Field);
            if (files.Count == 0)
            {
                string others = form.Files.Count > 0 ? $" (the request has files in field(s) {string.Join(", ", form.Files.Select(f => $"'{f.Name}'").Distinct())})" : "";
                throw new ServingException(400, $"No file in the multipart field '{Field}'{others}.");
            }
            if (files.Count > options.MaxItemsPerRequest)
                throw new ServingException(400, $"The request holds {files.Count} files; at most {options.MaxItemsPerRequest} are scored per request.");
            var uploads = new List<Upload>(files.Count);
            long total = 0;
            foreach (var file in files)
            {
                total += file.Length;
                if (total > limit)
                    throw new ServingException(413, ServingHost.TooLarge(context));
                var bytes = new byte[file.Length];
                await using (var stream = file.OpenReadStream())
                    await stream.ReadExactlyAsync(bytes, context.RequestAborted).ConfigureAwait(false);
                uploads.Add(new Upload(string.IsNullOrEmpty(file.FileName) ? Field : Path.GetFileName(file.FileName), bytes));
            }
            return uploads;
        }

        // A raw body: read at most limit + 1 bytes, so an oversized chunked body is refused too.
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new ServingException(413, ServingHost.TooLarge(context));
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
            throw new ServingException(400, $"The request has no image: send a multipart form with the field '{Field}', or a .npy array or an image as the body.");
        return [new Upload("body", buffer.ToArray())];
    }
}
