using MLPipelines.Torch.Native;

namespace MLPipelines.Tests.Torch;

public sealed class ElfVersionNeedPatcherTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("elfpatch-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Inspect_FindsTheVernauxEntryAndItsBoundSymbol()
    {
        (byte[] image, int flagsOffset) = SyntheticElf.Build();
        ElfVersionNeedInfo info = ElfVersionNeedPatcher.Inspect(image);
        Assert.True(info.Found);
        Assert.False(info.IsWeak);
        Assert.Equal(flagsOffset, info.FlagsOffset);
        Assert.Equal("libstdc++.so.6", info.LibraryName);
        Assert.Equal(3, info.VersionIndex);
        Assert.Equal(new[] { SyntheticElf.Anchor }, info.BoundSymbols);
    }

    [Fact]
    public void PatchFile_SetsWeakFlag_ChangesNothingElse_AndIsIdempotent()
    {
        (byte[] original, int flagsOffset) = SyntheticElf.Build();
        string path = Path.Combine(dir, "libfake.so");
        File.WriteAllBytes(path, original);
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.PatchFile(path));
        byte[] patched = File.ReadAllBytes(path);
        Assert.Equal(original.Length, patched.Length);
        for (int i = 0; i < original.Length; i++)
        {
            if (i == flagsOffset)
                Assert.Equal(original[i] | ElfVersionNeedPatcher.VerFlagWeak, patched[i]);
            else
                Assert.True(original[i] == patched[i], $"byte {i} changed");
        }
        Assert.True(ElfVersionNeedPatcher.Inspect(patched).IsWeak);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path)); // keeps MSBuild's incremental copy from undoing it
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.PatchFile(path));
        Assert.Equal(patched, File.ReadAllBytes(path));
    }

    [SkippableFact]
    public void PatchFile_ReplacesTheFileInsteadOfWritingThroughAHardLink()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the test makes a hard link with Linux's libc link()");
        (byte[] original, _) = SyntheticElf.Build();
        string cache = Path.Combine(dir, "cache.so");
        File.WriteAllBytes(cache, original);
        string output = Path.Combine(dir, "output.so");
        Assert.Equal(0, Link(cache, output));

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.PatchFile(output));
        Assert.Equal(original, File.ReadAllBytes(cache));
        Assert.True(ElfVersionNeedPatcher.Inspect(File.ReadAllBytes(output)).IsWeak);
    }

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "link")]
    private static extern int Link([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string existing,
        [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string newPath);

    [Fact]
    public void PatchImage_AlreadyWeakAndOtherFlagsArePreserved()
    {
        (byte[] image, int flagsOffset) = SyntheticElf.Build(initialFlags: 0x1);
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.PatchImage(image));
        Assert.Equal(0x3, image[flagsOffset]);
        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.PatchImage(image));
    }

    [Fact]
    public void PatchImage_RefusesWhenRealSymbolsAreBoundToTheVersion()
    {
        (byte[] image, int flagsOffset) = SyntheticElf.Build(bindOtherSymbolTo32: true);
        var e = Assert.Throws<InvalidOperationException>(() => ElfVersionNeedPatcher.PatchImage(image));
        Assert.Contains(SyntheticElf.OtherSymbol, e.Message);
        Assert.Equal(0, image[flagsOffset]);
    }

    [Fact]
    public void PatchImage_VersionNotRequired_WritesNothing()
    {
        (byte[] image, _) = SyntheticElf.Build();
        byte[] copy = (byte[])image.Clone();
        Assert.Equal(ElfPatchOutcome.VersionNotRequired, ElfVersionNeedPatcher.PatchImage(image, "GLIBCXX_9.9.99"));
        Assert.Equal(copy, image);
    }

    [Fact]
    public void NonElfFile_GivesAClearError()
    {
        string path = Path.Combine(dir, "notes.txt");
        File.WriteAllText(path, "this is not a shared object, just some text that is long enough to have a header...........");
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.PatchFile(path));
        Assert.Contains("not an ELF file", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData(4, 1, "not a 64-bit ELF file")]
    [InlineData(5, 2, "not a little-endian ELF file")]
    [InlineData(18, 183, "not an x86-64 ELF file")] // EM_AARCH64
    public void WrongElfKind_GivesAClearError(int offset, byte value, string expected)
    {
        (byte[] image, _) = SyntheticElf.Build();
        image[offset] = value;
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.Inspect(image));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TruncatedFile_GivesAClearError()
    {
        (byte[] image, _) = SyntheticElf.Build();
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.Inspect(image[..(image.Length - 100)]));
        Assert.Contains("section header table outside the file", e.Message);
    }
}
