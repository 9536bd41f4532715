using System.Text;

namespace MLPipelines.Tests.Torch;

/// <summary>Writes a minimal ELF64 LE x86-64 shared object with .dynstr, .dynsym, .gnu.version and .gnu.version_r.</summary>
internal static class SyntheticElf
{
    public const string Anchor = "_ZSt21ios_base_library_initv";
    public const string OtherSymbol = "_ZNSt6thread4joinEv";

    /// <summary>Builds the image; returns it and the file offset of the GLIBCXX_3.4.32 vna_flags field.</summary>
    /// <param name="bindOtherSymbolTo32">Also bind a second (real) symbol to GLIBCXX_3.4.32, which makes weakening unsafe.</param>
    /// <param name="initialFlags">vna_flags of the GLIBCXX_3.4.32 entry.</param>
    public static (byte[] Image, int FlagsOffset) Build(bool bindOtherSymbolTo32 = false, ushort initialFlags = 0)
    {
        var dynstr = new MemoryStream();
        int Str(string s)
        {
            int at = (int)dynstr.Length;
            dynstr.Write(Encoding.ASCII.GetBytes(s + "\0"));
            return at;
        }
        Str(string.Empty);
        int libName = Str("libstdc++.so.6");
        int v30 = Str("GLIBCXX_3.4.30");
        int v32 = Str("GLIBCXX_3.4.32");
        int anchorName = Str(Anchor);
        int otherName = Str(OtherSymbol);

        var shstr = new MemoryStream();
        int Sh(string s)
        {
            int at = (int)shstr.Length;
            shstr.Write(Encoding.ASCII.GetBytes(s + "\0"));
            return at;
        }
        Sh(string.Empty);
        int nDynstr = Sh(".dynstr"), nDynsym = Sh(".dynsym"), nVersym = Sh(".gnu.version"), nVerneed = Sh(".gnu.version_r"), nShstr = Sh(".shstrtab");

        var file = new List<byte>(new byte[64]);
        int Place(byte[] data, int align)
        {
            while (file.Count % align != 0) file.Add(0);
            int at = file.Count;
            file.AddRange(data);
            return at;
        }

        byte[] dynstrBytes = dynstr.ToArray();
        int dynstrOff = Place(dynstrBytes, 1);

        var dynsym = new byte[3 * 24];
        BitConverter.GetBytes((uint)anchorName).CopyTo(dynsym, 24);
        dynsym[24 + 4] = 0x12; // STB_GLOBAL, STT_FUNC, undefined
        BitConverter.GetBytes((uint)otherName).CopyTo(dynsym, 48);
        dynsym[48 + 4] = 0x12;
        int dynsymOff = Place(dynsym, 8);

        var versym = new byte[3 * 2];
        BitConverter.GetBytes((ushort)3).CopyTo(versym, 2); // anchor -> GLIBCXX_3.4.32 (index 3)
        BitConverter.GetBytes((ushort)(bindOtherSymbolTo32 ? 3 : 2)).CopyTo(versym, 4);
        int versymOff = Place(versym, 2);

        var verneed = new byte[16 + 2 * 16];
        BitConverter.GetBytes((ushort)1).CopyTo(verneed, 0);       // vn_version
        BitConverter.GetBytes((ushort)2).CopyTo(verneed, 2);       // vn_cnt
        BitConverter.GetBytes((uint)libName).CopyTo(verneed, 4);   // vn_file
        BitConverter.GetBytes(16u).CopyTo(verneed, 8);             // vn_aux
        // aux 0: GLIBCXX_3.4.30, index 2
        BitConverter.GetBytes(0x08922974u).CopyTo(verneed, 16);
        BitConverter.GetBytes((ushort)2).CopyTo(verneed, 16 + 6);
        BitConverter.GetBytes((uint)v30).CopyTo(verneed, 16 + 8);
        BitConverter.GetBytes(16u).CopyTo(verneed, 16 + 12);
        // aux 1: GLIBCXX_3.4.32, index 3
        BitConverter.GetBytes(0x08922972u).CopyTo(verneed, 32);
        BitConverter.GetBytes(initialFlags).CopyTo(verneed, 32 + 4);
        BitConverter.GetBytes((ushort)3).CopyTo(verneed, 32 + 6);
        BitConverter.GetBytes((uint)v32).CopyTo(verneed, 32 + 8);
        int verneedOff = Place(verneed, 8);

        byte[] shstrBytes = shstr.ToArray();
        int shstrOff = Place(shstrBytes, 1);

        while (file.Count % 8 != 0) file.Add(0);
        int shoff = file.Count;
        void Header(int name, uint type, long offset, long size, uint link, uint info, long align, long entsize)
        {
            var h = new byte[64];
            BitConverter.GetBytes((uint)name).CopyTo(h, 0);
            BitConverter.GetBytes(type).CopyTo(h, 4);
            BitConverter.GetBytes(offset).CopyTo(h, 0x18);
            BitConverter.GetBytes(size).CopyTo(h, 0x20);
            BitConverter.GetBytes(link).CopyTo(h, 0x28);
            BitConverter.GetBytes(info).CopyTo(h, 0x2C);
            BitConverter.GetBytes(align).CopyTo(h, 0x30);
            BitConverter.GetBytes(entsize).CopyTo(h, 0x38);
            file.AddRange(h);
        }
        Header(0, 0, 0, 0, 0, 0, 0, 0);
        Header(nDynstr, 3, dynstrOff, dynstrBytes.Length, 0, 0, 1, 0);             // 1 .dynstr
        Header(nDynsym, 11, dynsymOff, dynsym.Length, 1, 1, 8, 24);                 // 2 .dynsym
        Header(nVersym, 0x6fffffff, versymOff, versym.Length, 2, 0, 2, 2);          // 3 .gnu.version
        Header(nVerneed, 0x6ffffffe, verneedOff, verneed.Length, 1, 1, 8, 0);       // 4 .gnu.version_r
        Header(nShstr, 3, shstrOff, shstrBytes.Length, 0, 0, 1, 0);                // 5 .shstrtab

        byte[] image = file.ToArray();
        image[0] = 0x7f;
        image[1] = (byte)'E';
        image[2] = (byte)'L';
        image[3] = (byte)'F';
        image[4] = 2; // ELFCLASS64
        image[5] = 1; // ELFDATA2LSB
        image[6] = 1; // EV_CURRENT
        BitConverter.GetBytes((ushort)3).CopyTo(image, 16);   // ET_DYN
        BitConverter.GetBytes((ushort)62).CopyTo(image, 18);  // EM_X86_64
        BitConverter.GetBytes(1u).CopyTo(image, 20);
        BitConverter.GetBytes((long)shoff).CopyTo(image, 0x28);
        BitConverter.GetBytes((ushort)64).CopyTo(image, 0x34);
        BitConverter.GetBytes((ushort)64).CopyTo(image, 0x3A);
        BitConverter.GetBytes((ushort)6).CopyTo(image, 0x3C);
        BitConverter.GetBytes((ushort)5).CopyTo(image, 0x3E);
        return (image, verneedOff + 32 + 4);
    }
}
