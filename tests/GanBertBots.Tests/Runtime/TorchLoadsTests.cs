using GanBertBots.Build;
using TorchSharp;
using static TorchSharp.torch;

namespace GanBertBots.Tests.Runtime;

public class TorchLoadsTests
{
    [Fact]
    public void Torch_initialises_and_multiplies_matrices()
    {
        // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = tensor(new float[] { 5, 6, 7, 8 }).reshape(2, 2);
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void Native_library_in_output_needs_no_missing_glibcxx_version()
    {
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(lib), $"TorchSharp native library not found at {lib}");
        bool? systemHasIt = ElfVersionNeed.SystemLibstdcxxDefines(ElfVersionNeed.TorchSharpGlibcxxVersion);
        if (systemHasIt == false)
            Assert.False(ElfVersionNeed.HasStrictNeed(lib, ElfVersionNeed.TorchSharpGlibcxxVersion),
                "the build should have marked GLIBCXX_3.4.32 weak in the output copy");
    }

    [Fact]
    public void Weakening_is_idempotent_and_touches_one_byte()
    {
        string src = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string nugetCopy = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            ".nuget", "packages", "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        // Start from the pristine shipped library when we can find it; else from the output copy.
        string original = File.Exists(nugetCopy) ? nugetCopy : src;
        string dir = Directory.CreateTempSubdirectory("elfpatch").FullName;
        try
        {
            string copy = Path.Combine(dir, "libLibTorchSharp.so");
            File.Copy(original, copy);
            byte[] before = File.ReadAllBytes(copy);
            var first = ElfVersionNeed.MarkWeak(copy, ElfVersionNeed.TorchSharpGlibcxxVersion);
            byte[] after = File.ReadAllBytes(copy);
            var second = ElfVersionNeed.MarkWeak(copy, ElfVersionNeed.TorchSharpGlibcxxVersion);
            Assert.Equal(ElfVersionNeed.PatchResult.AlreadyWeak, second);
            Assert.Equal(after, File.ReadAllBytes(copy));
            Assert.False(ElfVersionNeed.HasStrictNeed(copy, ElfVersionNeed.TorchSharpGlibcxxVersion));
            int differing = before.Zip(after).Count(p => p.First != p.Second);
            Assert.Equal(first == ElfVersionNeed.PatchResult.Patched ? 1 : 0, differing);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void System_libstdcxx_versions_are_read_from_its_version_definitions()
    {
        string lib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(lib)) lib = "/usr/lib/aarch64-linux-gnu/libstdc++.so.6";
        Assert.True(File.Exists(lib), "no system libstdc++ found");
        var versions = ElfVersionNeed.DefinedVersions(lib);
        Assert.Contains("GLIBCXX_3.4", versions);
        Assert.Contains("CXXABI_1.3", versions);
    }

    [Fact]
    public void Corrupt_elf_is_a_clear_error()
    {
        string f = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(f, new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 0, 0 });
            var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeed.MarkWeak(f, "GLIBCXX_3.4.32"));
            Assert.Contains("ELF", e.Message);
        }
        finally { File.Delete(f); }
    }
}
