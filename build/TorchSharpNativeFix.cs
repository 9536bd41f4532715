// TorchSharp 0.107.0 ships libLibTorchSharp.so built with GCC 13: it declares a dependency on the symbol
// version GLIBCXX_3.4.32 of libstdc++.so.6, which Debian 12 (GLIBCXX up to 3.4.30) lacks, so dlopen fails.
// The only symbol bound to that version is the <iostream> anchor _ZSt21ios_base_library_initv, which no
// relocation refers to. Marking the version requirement weak (VER_FLG_WEAK in the Vernaux entry) lets the
// dynamic loader accept the library.
//
// This one source file is compiled twice:
//   * by MSBuild's RoslynCodeTaskFactory (build/TorchSharpNativeFix.targets): the PatchTorchSharpNative task
//     patches the copies of libLibTorchSharp.so in a project's build/publish output (never the NuGet cache);
//   * into MLPipelines.Torch (with MLPIPELINES_TORCH_LIBRARY defined): the runtime fallback of
//     TorchRuntime.EnsureLoaded and the tests use the same ELF code.
// Keep it within the .NET Standard 2.0 API surface: that is what RoslynCodeTaskFactory compiles against.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace MLPipelines.Torch.Native
{
    /// <summary>What <see cref="ElfVersionNeedPatcher"/> found about one version requirement.</summary>
    public sealed class ElfVersionNeedInfo
    {
        /// <summary>Creates a result.</summary>
        /// <param name="versionName">The version name looked for, e.g. GLIBCXX_3.4.32.</param>
        /// <param name="found">Whether a Vernaux entry with that name exists.</param>
        /// <param name="flagsOffset">File offset of the entry's vna_flags field, or -1 when not found.</param>
        /// <param name="flags">Current vna_flags value (0 when not found).</param>
        /// <param name="libraryName">The needed library (vn_file) the version belongs to, when found.</param>
        /// <param name="versionIndex">The entry's vna_other version index (0 when not found).</param>
        /// <param name="boundSymbols">Dynamic symbols whose .gnu.version index is that version.</param>
        public ElfVersionNeedInfo(string versionName, bool found, long flagsOffset, ushort flags, string? libraryName,
            ushort versionIndex, IReadOnlyList<string> boundSymbols)
        {
            VersionName = versionName;
            Found = found;
            FlagsOffset = flagsOffset;
            Flags = flags;
            LibraryName = libraryName;
            VersionIndex = versionIndex;
            BoundSymbols = boundSymbols;
        }

        /// <summary>The version name looked for.</summary>
        public string VersionName { get; }

        /// <summary>Whether the file requires that version at all.</summary>
        public bool Found { get; }

        /// <summary>File offset of the vna_flags field of the entry, or -1 when not found.</summary>
        public long FlagsOffset { get; }

        /// <summary>Current vna_flags value of the entry.</summary>
        public ushort Flags { get; }

        /// <summary>Whether the requirement is already weak (VER_FLG_WEAK set).</summary>
        public bool IsWeak => (Flags & ElfVersionNeedPatcher.VerFlagWeak) != 0;

        /// <summary>The library the version is needed from (e.g. libstdc++.so.6), when found.</summary>
        public string? LibraryName { get; }

        /// <summary>The version index (vna_other) used by .gnu.version for this requirement.</summary>
        public ushort VersionIndex { get; }

        /// <summary>Names of dynamic symbols bound to this version.</summary>
        public IReadOnlyList<string> BoundSymbols { get; }
    }

    /// <summary>Outcome of <see cref="ElfVersionNeedPatcher.PatchFile"/>.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The VER_FLG_WEAK bit was set and the file rewritten.</summary>
        Patched,

        /// <summary>The requirement was already weak: nothing written.</summary>
        AlreadyWeak,

        /// <summary>The file does not require the version: nothing written.</summary>
        VersionNotRequired,
    }

    /// <summary>
    /// Reads an ELF64 little-endian x86-64 shared object and marks one symbol-version requirement
    /// (a Vernaux entry of the SHT_GNU_verneed section) weak.
    /// </summary>
    public static class ElfVersionNeedPatcher
    {
        /// <summary>The version TorchSharp 0.107.0's libLibTorchSharp.so needs and Debian 12 lacks.</summary>
        public const string DefaultVersionName = "GLIBCXX_3.4.32";

        /// <summary>The only symbol bound to <see cref="DefaultVersionName"/> in libLibTorchSharp.so; no relocation uses it.</summary>
        public const string IostreamAnchorSymbol = "_ZSt21ios_base_library_initv";

        /// <summary>VER_FLG_WEAK: the version requirement is weak.</summary>
        public const ushort VerFlagWeak = 0x2;

        /// <summary>SHT_GNU_verneed section type (.gnu.version_r).</summary>
        public const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>SHT_GNU_versym section type (.gnu.version).</summary>
        public const uint ShtGnuVersym = 0x6fffffff;

        private const uint ShtDynsym = 11;
        private const ushort EmX8664 = 62;

        /// <summary>Finds the requirement <paramref name="versionName"/> in an ELF image.</summary>
        /// <param name="image">The whole file.</param>
        /// <param name="versionName">Version name, e.g. GLIBCXX_3.4.32.</param>
        /// <param name="what">Name of the file, for error messages.</param>
        /// <returns>What was found.</returns>
        /// <exception cref="InvalidDataException">The image is not a well-formed ELF64 little-endian x86-64 file.</exception>
        public static ElfVersionNeedInfo Inspect(byte[] image, string versionName = DefaultVersionName, string what = "the file")
        {
            if (image is null) throw new ArgumentNullException(nameof(image));
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                throw new InvalidDataException($"{what} is not an ELF file (missing the 0x7F 'ELF' magic).");
            if (image[4] != 2)
                throw new InvalidDataException($"{what} is not a 64-bit ELF file (EI_CLASS={image[4]}, expected 2 = ELFCLASS64).");
            if (image[5] != 1)
                throw new InvalidDataException($"{what} is not a little-endian ELF file (EI_DATA={image[5]}, expected 1 = ELFDATA2LSB).");
            ushort machine = U16(image, 18);
            if (machine != EmX8664)
                throw new InvalidDataException($"{what} is not an x86-64 ELF file (e_machine={machine}, expected 62 = EM_X86_64).");

            long shoff = (long)U64(image, 0x28);
            int shentsize = U16(image, 0x3A);
            int shnum = U16(image, 0x3C);
            if (shoff <= 0 || shnum == 0)
                throw new InvalidDataException($"{what} has no section header table.");
            if (shentsize < 64 || shoff + (long)shentsize * shnum > image.Length)
                throw new InvalidDataException($"{what} has a section header table outside the file (offset {shoff}, {shnum} x {shentsize} bytes).");

            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                sections[i] = new Section(U32(image, h + 4), (long)U64(image, h + 0x18), (long)U64(image, h + 0x20),
                    U32(image, h + 0x28), U32(image, h + 0x2C), (long)U64(image, h + 0x38));
            }

            int verneedIndex = Array.FindIndex(sections, s => s.Type == ShtGnuVerneed);
            if (verneedIndex < 0)
                return new ElfVersionNeedInfo(versionName, false, -1, 0, null, 0, Array.Empty<string>());
            Section verneed = sections[verneedIndex];
            CheckRange(image, verneed.Offset, verneed.Size, what, "SHT_GNU_verneed section");
            if (verneed.Link >= shnum)
                throw new InvalidDataException($"{what}: the SHT_GNU_verneed section links to a missing string table ({verneed.Link}).");
            Section strtab = sections[verneed.Link];
            CheckRange(image, strtab.Offset, strtab.Size, what, "version string table");

            // Walk Elf64_Verneed (16 bytes: vn_version, vn_cnt, vn_file, vn_aux, vn_next) and their
            // Elf64_Vernaux (16 bytes: vna_hash, vna_flags, vna_other, vna_name, vna_next).
            long end = verneed.Offset + verneed.Size;
            long vn = verneed.Offset;
            int guard = 0;
            while (true)
            {
                if (vn + 16 > end) throw new InvalidDataException($"{what}: a Verneed entry runs past its section.");
                int count = U16(image, vn + 2);
                string file = ReadString(image, strtab, U32(image, vn + 4), what);
                long aux = vn + U32(image, vn + 8);
                for (int k = 0; k < count; k++)
                {
                    if (aux < verneed.Offset || aux + 16 > end)
                        throw new InvalidDataException($"{what}: a Vernaux entry lies outside its section.");
                    string name = ReadString(image, strtab, U32(image, aux + 8), what);
                    if (name == versionName)
                    {
                        ushort index = U16(image, aux + 6);
                        return new ElfVersionNeedInfo(versionName, true, aux + 4, U16(image, aux + 4), file, index,
                            SymbolsBoundTo(image, sections, index, what));
                    }
                    uint nextAux = U32(image, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(image, vn + 12);
                if (next == 0 || ++guard > 10000) break;
                vn += next;
            }
            return new ElfVersionNeedInfo(versionName, false, -1, 0, null, 0, Array.Empty<string>());
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement in an in-memory image. Changes exactly one 16-bit field.
        /// </summary>
        /// <param name="image">The whole file; modified in place.</param>
        /// <param name="versionName">Version name, e.g. GLIBCXX_3.4.32.</param>
        /// <param name="allowedSymbols">Symbols that may be bound to the version (null: only <see cref="IostreamAnchorSymbol"/>).</param>
        /// <param name="what">Name of the file, for error messages.</param>
        /// <returns>What was done.</returns>
        /// <exception cref="InvalidDataException">Not a well-formed ELF64 LE x86-64 file.</exception>
        /// <exception cref="InvalidOperationException">Other symbols are bound to the version, so weakening it is unsafe.</exception>
        public static ElfPatchOutcome PatchImage(byte[] image, string versionName = DefaultVersionName,
            ICollection<string>? allowedSymbols = null, string what = "the file")
        {
            ElfVersionNeedInfo info = Inspect(image, versionName, what);
            if (!info.Found) return ElfPatchOutcome.VersionNotRequired;
            if (info.IsWeak) return ElfPatchOutcome.AlreadyWeak;
            CheckSafe(info, allowedSymbols, what);
            ushort flags = (ushort)(info.Flags | VerFlagWeak);
            image[info.FlagsOffset] = (byte)flags;
            image[info.FlagsOffset + 1] = (byte)(flags >> 8);
            return ElfPatchOutcome.Patched;
        }

        /// <summary>
        /// Marks the requirement weak in the file at <paramref name="path"/>. The patched content goes to a temporary
        /// file that then replaces the original by rename, so a hard link or symbolic link into a package cache is
        /// never written through. The original last-write time is kept, so MSBuild's incremental copy does not
        /// overwrite the patched copy on the next build. Idempotent: an already weak requirement writes nothing.
        /// </summary>
        /// <param name="path">The shared object to patch (a copy in a build output, never the NuGet cache).</param>
        /// <param name="versionName">Version name, e.g. GLIBCXX_3.4.32.</param>
        /// <param name="allowedSymbols">Symbols that may be bound to the version (null: only <see cref="IostreamAnchorSymbol"/>).</param>
        /// <returns>What was done.</returns>
        public static ElfPatchOutcome PatchFile(string path, string versionName = DefaultVersionName, ICollection<string>? allowedSymbols = null)
        {
            byte[] image = File.ReadAllBytes(path);
            ElfVersionNeedInfo info = Inspect(image, versionName, path);
            if (!info.Found) return ElfPatchOutcome.VersionNotRequired;
            if (info.IsWeak) return ElfPatchOutcome.AlreadyWeak;
            CheckSafe(info, allowedSymbols, path);

            DateTime lastWrite = File.GetLastWriteTimeUtc(path);
            string temp = path + ".glibcxx-patch.tmp";
            File.Copy(path, temp, overwrite: true); // keeps the permission bits
            try
            {
                ushort flags = (ushort)(info.Flags | VerFlagWeak);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    stream.Position = info.FlagsOffset;
                    stream.WriteByte((byte)flags);
                    stream.WriteByte((byte)(flags >> 8));
                }
                File.SetLastWriteTimeUtc(temp, lastWrite);
                File.Delete(path);
                File.Move(temp, path);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return ElfPatchOutcome.Patched;
        }

        private static void CheckSafe(ElfVersionNeedInfo info, ICollection<string>? allowedSymbols, string what)
        {
            ICollection<string> allowed = allowedSymbols ?? new[] { IostreamAnchorSymbol };
            var unexpected = new List<string>();
            foreach (string s in info.BoundSymbols)
                if (!allowed.Contains(s)) unexpected.Add(s);
            if (unexpected.Count > 0)
                throw new InvalidOperationException(
                    $"{what}: refusing to mark {info.VersionName} weak, because symbols other than the iostream anchor are bound to it " +
                    $"({string.Join(", ", unexpected)}); the library would fail at run time. Use a system libstdc++ that provides {info.VersionName}.");
        }

        private static List<string> SymbolsBoundTo(byte[] image, Section[] sections, ushort index, string what)
        {
            var names = new List<string>();
            int versymIndex = Array.FindIndex(sections, s => s.Type == ShtGnuVersym);
            if (versymIndex < 0) return names;
            Section versym = sections[versymIndex];
            if (versym.Link >= sections.Length || sections[versym.Link].Type != ShtDynsym) return names;
            Section dynsym = sections[versym.Link];
            if (dynsym.Link >= sections.Length) return names;
            Section dynstr = sections[dynsym.Link];
            CheckRange(image, versym.Offset, versym.Size, what, ".gnu.version section");
            CheckRange(image, dynsym.Offset, dynsym.Size, what, ".dynsym section");
            CheckRange(image, dynstr.Offset, dynstr.Size, what, ".dynstr section");
            long entSize = dynsym.EntSize == 0 ? 24 : dynsym.EntSize;
            long count = Math.Min(versym.Size / 2, dynsym.Size / entSize);
            for (long i = 0; i < count; i++)
            {
                if ((U16(image, versym.Offset + 2 * i) & 0x7fff) != index) continue;
                names.Add(ReadString(image, dynstr, U32(image, dynsym.Offset + i * entSize), what));
            }
            return names;
        }

        private static void CheckRange(byte[] image, long offset, long size, string what, string part)
        {
            if (offset < 0 || size < 0 || offset + size > image.Length)
                throw new InvalidDataException($"{what}: the {part} (offset {offset}, size {size}) lies outside the file ({image.Length} bytes).");
        }

        private static string ReadString(byte[] image, Section table, uint offset, string what)
        {
            long start = table.Offset + offset;
            long end = table.Offset + table.Size;
            if (offset >= table.Size) throw new InvalidDataException($"{what}: a string offset ({offset}) lies outside its string table.");
            long p = start;
            while (p < end && image[p] != 0) p++;
            return Encoding.ASCII.GetString(image, (int)start, (int)(p - start));
        }

        private static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);

        private static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);

        private static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        private readonly struct Section
        {
            public Section(uint type, long offset, long size, uint link, uint info, long entSize)
            {
                Type = type;
                Offset = offset;
                Size = size;
                Link = link;
                Info = info;
                EntSize = entSize;
            }

            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public uint Info { get; }
            public long EntSize { get; }
        }
    }

    /// <summary>Finds the system libstdc++.so.6 and tells whether it provides a symbol version.</summary>
    public static class SystemLibStdCxx
    {
        private static readonly string[] CommonPaths =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>
        /// Path of the system's x86-64 libstdc++.so.6: /usr/lib/x86_64-linux-gnu first, then what
        /// <c>ldconfig -p</c> reports, then common library folders. Null when none is found.
        /// </summary>
        /// <returns>The path, or null.</returns>
        public static string? Find()
        {
            if (File.Exists(CommonPaths[0])) return CommonPaths[0];
            string? fromLdconfig = FromLdconfig();
            if (fromLdconfig != null) return fromLdconfig;
            foreach (string p in CommonPaths)
                if (File.Exists(p)) return p;
            return null;
        }

        /// <summary>Whether the library at <paramref name="path"/> contains the version string <paramref name="versionName"/>.</summary>
        /// <param name="path">Path of a libstdc++.so.6.</param>
        /// <param name="versionName">Version name, e.g. GLIBCXX_3.4.32.</param>
        /// <returns>True when the NUL-terminated version string occurs in the file.</returns>
        public static bool ProvidesVersion(string path, string versionName = ElfVersionNeedPatcher.DefaultVersionName)
        {
            byte[] data = File.ReadAllBytes(path);
            byte[] needle = Encoding.ASCII.GetBytes(versionName + "\0");
            for (int i = 0; i + needle.Length <= data.Length; i++)
            {
                if (data[i] != needle[0]) continue;
                int k = 1;
                while (k < needle.Length && data[i + k] == needle[k]) k++;
                if (k == needle.Length && (i == 0 || data[i - 1] == 0)) return true;
            }
            return false;
        }

        private static string? FromLdconfig()
        {
            foreach (string exe in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig" })
            {
                try
                {
                    if (exe.StartsWith("/", StringComparison.Ordinal) && !File.Exists(exe)) continue;
                    var psi = new ProcessStartInfo(exe, "-p")
                    {
                        RedirectStandardOutput = true,
                        RedirectStandardError = true,
                        UseShellExecute = false,
                        CreateNoWindow = true,
                    };
                    using (Process? p = Process.Start(psi))
                    {
                        if (p == null) continue;
                        string output = p.StandardOutput.ReadToEnd();
                        p.WaitForExit(5000);
                        foreach (string raw in output.Split('\n'))
                        {
                            string line = raw.Trim();
                            if (!line.StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) || line.IndexOf("x86-64", StringComparison.Ordinal) < 0)
                                continue;
                            int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                            if (arrow < 0) continue;
                            string candidate = line.Substring(arrow + 2).Trim();
                            if (File.Exists(candidate)) return candidate;
                        }
                        return null;
                    }
                }
                catch (Exception)
                {
                    // ldconfig missing or not runnable: try the next one, then the common paths.
                }
            }
            return null;
        }
    }

#if !MLPIPELINES_TORCH_LIBRARY
    /// <summary>
    /// MSBuild task: patches build/publish-output copies of libLibTorchSharp.so when the system libstdc++ lacks
    /// the version they require (Mode=auto), always (Mode=always), or never (Mode=never).
    /// </summary>
    public sealed class PatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        /// <summary>The copies of libLibTorchSharp.so to patch.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>auto (default), always, or never.</summary>
        public string Mode { get; set; } = "auto";

        /// <summary>The version to weaken.</summary>
        public string VersionName { get; set; } = ElfVersionNeedPatcher.DefaultVersionName;

        /// <summary>Folders (e.g. the NuGet package root) whose files must never be written.</summary>
        public string ProtectedRoots { get; set; } = "";

        /// <summary>Overrides the libstdc++.so.6 to check (optional).</summary>
        public string LibStdCxxPath { get; set; } = "";

        /// <summary>Label used in messages, e.g. "build output" or "publish output".</summary>
        public string Label { get; set; } = "output";

        /// <summary>Files that were patched by this run.</summary>
        [Microsoft.Build.Framework.Output]
        public Microsoft.Build.Framework.ITaskItem[] PatchedFiles { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <inheritdoc />
        public override bool Execute()
        {
            const string prefix = "TorchSharpNativeFix: ";
            const Microsoft.Build.Framework.MessageImportance high = Microsoft.Build.Framework.MessageImportance.High;
            string mode = (Mode ?? "auto").Trim().ToLowerInvariant();
            if (mode == "never" || mode == "false" || mode == "off") return true;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, prefix + "not Linux, nothing to do.");
                return true;
            }

            if (mode != "always")
            {
                string? lib = string.IsNullOrEmpty(LibStdCxxPath) ? SystemLibStdCxx.Find() : LibStdCxxPath;
                if (lib != null && SystemLibStdCxx.ProvidesVersion(lib, VersionName))
                {
                    Log.LogMessage(high, prefix + $"system {lib} provides {VersionName}; {Files.Length} libLibTorchSharp.so copy(ies) in the {Label} need no patch.");
                    return true;
                }
                if (lib == null)
                    Log.LogMessage(high, prefix + $"no system libstdc++.so.6 found; patching anyway (marking {VersionName} weak is harmless).");
            }

            var roots = new List<string>();
            foreach (string r in (ProtectedRoots ?? "").Split(';'))
                if (r.Trim().Length > 0) roots.Add(Path.GetFullPath(r.Trim()).TrimEnd('/') + "/");

            var patched = new List<Microsoft.Build.Framework.ITaskItem>();
            foreach (Microsoft.Build.Framework.ITaskItem item in Files)
            {
                string path = Path.GetFullPath(item.ItemSpec);
                foreach (string root in roots)
                {
                    if (path.StartsWith(root, StringComparison.Ordinal))
                    {
                        Log.LogError(prefix + $"refusing to patch {path}: it lies in the package cache {root}. Only build-output copies are patched.");
                        return false;
                    }
                }
                try
                {
                    ElfPatchOutcome outcome = ElfVersionNeedPatcher.PatchFile(path, VersionName);
                    switch (outcome)
                    {
                        case ElfPatchOutcome.Patched:
                            Log.LogMessage(high, prefix + $"patched {path}: {VersionName} requirement marked weak (VER_FLG_WEAK), so it loads with this system's libstdc++.");
                            patched.Add(item);
                            break;
                        case ElfPatchOutcome.AlreadyWeak:
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, prefix + $"{path} is already patched.");
                            break;
                        default:
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, prefix + $"{path} does not require {VersionName}; left unchanged.");
                            break;
                    }
                }
                catch (Exception e) when (e is InvalidDataException || e is InvalidOperationException || e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError(prefix + $"cannot patch {path}: {e.Message}");
                    return false;
                }
            }
            PatchedFiles = patched.ToArray();
            return true;
        }
    }
#endif
}
