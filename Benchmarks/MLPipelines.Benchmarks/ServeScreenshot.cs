using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace MLPipelines.Benchmarks;

/// <summary>
/// <c>serve-screenshot --url http://127.0.0.1:PORT/ --image FILE --out page.png [--width 1100] [--height 760]</c>: opens the
/// page of <c>mlpipelines serve</c> in headless Debian chromium (/usr/bin/chromium, /usr/bin/chromedriver), uploads
/// the image through the page's file input, waits for the prediction (and gallery) and saves a PNG screenshot
/// (the one in the README).
/// </summary>
internal static class ServeScreenshot
{
    public static int Run(string[] args)
    {
        string url = Value(args, "--url") ?? throw new ArgumentException("--url is required");
        string image = Path.GetFullPath(Value(args, "--image") ?? throw new ArgumentException("--image is required"));
        string output = Value(args, "--out") ?? "serving-page.png";
        int width = int.Parse(Value(args, "--width") ?? "1100", System.Globalization.CultureInfo.InvariantCulture);
        int height = int.Parse(Value(args, "--height") ?? "760", System.Globalization.CultureInfo.InvariantCulture);
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--window-size={width},{height}", "--hide-scrollbars");
        using var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Navigate().GoToUrl(url);
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(30));
        wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-state") == "ready");
        driver.FindElement(By.Id("file")).SendKeys(image);
        wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-state") is "done" or "error");
        wait.Until(d => (bool)((IJavaScriptExecutor)d).ExecuteScript("return [...document.querySelectorAll('img')].every(i => !i.src || (i.complete && i.naturalWidth > 0));")!);
        driver.GetScreenshot().SaveAsFile(output);
        Console.WriteLine($"{output}: label {driver.FindElement(By.Id("label")).Text}, {driver.FindElements(By.CssSelector("#gallery img")).Count} gallery images, state {driver.FindElement(By.TagName("body")).GetAttribute("data-state")}");
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
