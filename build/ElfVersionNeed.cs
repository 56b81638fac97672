// Marks one symbol-version requirement of an ELF shared library as WEAK.
//
// Why: TorchSharp's libLibTorchSharp.so is linked by GCC 13 and so records a need for
// GLIBCXX_3.4.32. The only symbol behind that version is std::ios_base_library_init, a
// marker nothing calls (no relocation refers to it). Debian 12 and Ubuntu 22.04 ship
// GCC 12's libstdc++, which lacks the version, so glibc refuses to load the library.
// Setting VER_FLG_WEAK (0x2) in the matching Vernaux entry of .gnu.version_r makes the
// dynamic loader accept a missing version. The change is one byte and idempotent.
//
// This file is compiled twice: into the MSBuild task (build/TorchSharpNative.targets)
// and into GanBertBots.Models (runtime check), so it depends on nothing but the BCL.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace GanBertBots.Build
{
    public static class ElfVersionNeed
    {
        public const string TorchSharpGlibcxxVersion = "GLIBCXX_3.4.32";
        const uint ShtGnuVerdef = 0x6ffffffd;
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        public enum PatchResult { Patched, AlreadyWeak, NotNeeded }

        /// <summary>Sets the WEAK flag on the version need named <paramref name="version"/>.</summary>
        public static PatchResult MarkWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            var hits = FindVernaux(elf, version, path);
            if (hits.Count == 0) return PatchResult.NotNeeded;
            bool changed = false;
            foreach (int flagsOffset in hits)
            {
                ushort flags = BitConverter.ToUInt16(elf, flagsOffset);
                if ((flags & VerFlgWeak) != 0) continue;
                flags |= VerFlgWeak;
                elf[flagsOffset] = (byte)(flags & 0xff);
                elf[flagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
            }
            if (!changed) return PatchResult.AlreadyWeak;
            // Write beside and rename, so a reader never sees a half-written library.
            string tmp = path + ".weakening";
            File.WriteAllBytes(tmp, elf);
            File.Replace(tmp, path, null);
            return PatchResult.Patched;
        }

        /// <summary>True when the library requires <paramref name="version"/> without the WEAK flag.</summary>
        public static bool HasStrictNeed(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            foreach (int off in FindVernaux(elf, version, path))
                if ((BitConverter.ToUInt16(elf, off) & VerFlgWeak) == 0) return true;
            return false;
        }

        /// <summary>Version names a library defines (.gnu.version_d), e.g. GLIBCXX_3.4.30.</summary>
        public static HashSet<string> DefinedVersions(string path)
        {
            byte[] elf = File.ReadAllBytes(path);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sh in Sections(elf, path))
            {
                if (sh.Type != ShtGnuVerdef) continue;
                var strtab = SectionAt(elf, (int)sh.Link, path);
                long vd = sh.Offset;
                for (uint i = 0; i < sh.Info; i++)
                {
                    ushort cnt = U16(elf, vd + 6, path);
                    uint aux = U32(elf, vd + 12, path);
                    uint next = U32(elf, vd + 16, path);
                    long va = vd + aux;
                    for (int j = 0; j < cnt; j++)
                    {
                        names.Add(CString(elf, strtab.Offset + U32(elf, va, path), path));
                        va += U32(elf, va + 4, path);
                    }
                    if (next == 0) break;
                    vd += next;
                }
            }
            return names;
        }

        /// <summary>
        /// Finds the system's libstdc++.so.6 and reports whether it defines <paramref name="version"/>.
        /// Returns null when no libstdc++ could be found (then patching is the safe choice).
        /// </summary>
        public static bool? SystemLibstdcxxDefines(string version)
        {
            foreach (var dir in new[] {
                "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
            {
                string p = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(p))
                {
                    try { return DefinedVersions(p).Contains(version); }
                    catch (InvalidDataException) { }
                }
            }
            return null;
        }

        // ---- ELF64 little-endian reading ------------------------------------------------

        struct Section { public uint Type; public long Offset; public long Size; public uint Link; public uint Info; }

        static List<int> FindVernaux(byte[] elf, string version, string path)
        {
            var hits = new List<int>();
            foreach (var sh in Sections(elf, path))
            {
                if (sh.Type != ShtGnuVerneed) continue;
                var strtab = SectionAt(elf, (int)sh.Link, path);
                long vn = sh.Offset;
                for (uint i = 0; i < sh.Info; i++)
                {
                    ushort cnt = U16(elf, vn + 2, path);
                    uint aux = U32(elf, vn + 8, path);
                    uint next = U32(elf, vn + 12, path);
                    long va = vn + aux;
                    for (int j = 0; j < cnt; j++)
                    {
                        uint name = U32(elf, va + 8, path);
                        if (CString(elf, strtab.Offset + name, path) == version) hits.Add(checked((int)(va + 4)));
                        uint vnaNext = U32(elf, va + 12, path);
                        if (vnaNext == 0) break;
                        va += vnaNext;
                    }
                    if (next == 0) break;
                    vn += next;
                }
            }
            return hits;
        }

        static IEnumerable<Section> Sections(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{path}: not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{path}: only 64-bit little-endian ELF is supported");
            long shoff = (long)U64(elf, 0x28, path);
            ushort shentsize = U16(elf, 0x3A, path);
            ushort shnum = U16(elf, 0x3C, path);
            for (int i = 0; i < shnum; i++)
                yield return ReadSection(elf, shoff + (long)i * shentsize, path);
        }

        static Section SectionAt(byte[] elf, int index, string path)
        {
            long shoff = (long)U64(elf, 0x28, path);
            ushort shentsize = U16(elf, 0x3A, path);
            ushort shnum = U16(elf, 0x3C, path);
            if (index < 0 || index >= shnum) throw new InvalidDataException($"{path}: bad section index {index}");
            return ReadSection(elf, shoff + (long)index * shentsize, path);
        }

        static Section ReadSection(byte[] elf, long at, string path) => new Section
        {
            Type = U32(elf, at + 4, path),
            Offset = (long)U64(elf, at + 0x18, path),
            Size = (long)U64(elf, at + 0x20, path),
            Link = U32(elf, at + 0x28, path),
            Info = U32(elf, at + 0x2C, path),
        };

        static void Check(byte[] elf, long at, int n, string path)
        {
            if (at < 0 || at + n > elf.Length) throw new InvalidDataException($"{path}: truncated ELF (offset {at})");
        }
        static ushort U16(byte[] b, long at, string p) { Check(b, at, 2, p); return BitConverter.ToUInt16(b, (int)at); }
        static uint U32(byte[] b, long at, string p) { Check(b, at, 4, p); return BitConverter.ToUInt32(b, (int)at); }
        static ulong U64(byte[] b, long at, string p) { Check(b, at, 8, p); return BitConverter.ToUInt64(b, (int)at); }
        static string CString(byte[] b, long at, string p)
        {
            Check(b, at, 1, p);
            long end = at;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
        }
    }

#if !GANBERTBOTS_RUNTIME
    /// <summary>MSBuild task: weakens the GLIBCXX_3.4.32 need of every libLibTorchSharp.so under the given folders.</summary>
    public class WeakenTorchSharpGlibcxx : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string[] Directories { get; set; } = Array.Empty<string>();
        /// <summary>auto (only where the system libstdc++ lacks the version), always, or never.</summary>
        public string Mode { get; set; } = "auto";

        public override bool Execute()
        {
            string version = ElfVersionNeed.TorchSharpGlibcxxVersion;
            if (string.Equals(Mode, "never", StringComparison.OrdinalIgnoreCase)) return true;
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux) && !string.Equals(Mode, "always", StringComparison.OrdinalIgnoreCase)) return true;
            if (string.Equals(Mode, "auto", StringComparison.OrdinalIgnoreCase) && ElfVersionNeed.SystemLibstdcxxDefines(version) == true)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"System libstdc++ defines {version}; TorchSharp natives left as shipped.");
                return true;
            }
            foreach (string dir in Directories)
            {
                if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir)) continue;
                foreach (string lib in Directory.EnumerateFiles(dir, "libLibTorchSharp.so", SearchOption.AllDirectories))
                {
                    try
                    {
                        var r = ElfVersionNeed.MarkWeak(lib, version);
                        if (r == ElfVersionNeed.PatchResult.Patched)
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"TorchSharp: marked {version} weak in {lib}");
                    }
                    catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                    {
                        Log.LogError($"TorchSharp: could not patch {lib}: {e.Message}");
                    }
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
