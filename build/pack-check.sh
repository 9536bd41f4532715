#!/usr/bin/env bash
# Packs the solution into a local feed and checks the packages as a new user would get them:
#  1. every library package has its metadata (description, MIT licence, readme, repository) and a .snupkg,
#     and is under 10 MB (the mlpipelines tool is measured and reported: it bundles native runtimes);
#  2. a fresh console app that references MLPipelines.Data and MLPipelines.Trainers from the feed (plus the
#     configured registry for ML.NET) builds and runs the README's first C# example verbatim on generated images;
#  3. `dotnet tool install mlpipelines` from the feed into a temporary tool path gives a working `mlpipelines --version`.
# Usage: build/pack-check.sh [WORK_DIR]   (default: a new temporary folder, removed at the end)
#        PACK_CHECK_REUSE_FEED=1 build/pack-check.sh WORK_DIR   re-checks the packages already in WORK_DIR/feed
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work=${1:-$(mktemp -d /tmp/mlpipelines-pack-check.XXXXXX)}
[ $# -ge 1 ] || trap 'rm -rf "$work"' EXIT
feed="$work/feed"
rm -rf "$work/app" "$work/tool" "$work/packages"
[ "${PACK_CHECK_REUSE_FEED:-0}" = 1 ] && ls "$feed"/*.nupkg >/dev/null 2>&1 || { rm -rf "$feed"; PACK_CHECK_REUSE_FEED=0; }
mkdir -p "$feed" "$work/app"
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)
fail() { echo "pack-check: FAILED: $*" >&2; exit 1; }
step() { echo "pack-check: $* ($(date +%H:%M:%S))"; }

if [ "${PACK_CHECK_REUSE_FEED:-0}" != 1 ]; then
  step "building and packing version $version into $feed"
  dotnet build MLPipelines.sln -c Release -v quiet -nologo >/dev/null || fail "dotnet build"
  dotnet pack MLPipelines.sln -c Release --no-build -o "$feed" -v quiet -nologo >/dev/null || fail "dotnet pack"
fi

step "checking package metadata and sizes"
limit=$((10 * 1024 * 1024))
printf '%-32s %12s %12s\n' package nupkg snupkg
for pkg in "$feed"/*.nupkg; do
  name=$(basename "$pkg" ".$version.nupkg")
  size=$(stat -c %s "$pkg")
  sym="$feed/$name.$version.snupkg"
  [ -f "$sym" ] || fail "$name has no symbols package (.snupkg)"
  printf '%-32s %12s %12s\n' "$name" "$size" "$(stat -c %s "$sym")"
  nuspec=$(unzip -p "$pkg" "*.nuspec")
  listing=$(unzip -l "$pkg")   # (not piped into grep -q: with pipefail, an early grep exit fails the pipe)
  for field in '<description>' '<license type="expression">MIT</license>' '<readme>README.md</readme>' '<repository type="git"' '<tags>' '<projectUrl>'; do
    grep -qF "$field" <<<"$nuspec" || fail "$name: nuspec lacks $field"
  done
  grep -q '<description>Package Description</description>' <<<"$nuspec" && fail "$name has the default description"
  grep -q ' README.md$' <<<"$listing" || fail "$name: README.md is not in the package"
  if [ "$name" = mlpipelines ]; then
    grep -q 'tools/net10.0/any/DotnetToolSettings.xml' <<<"$listing" || fail "mlpipelines is not packed as a .NET tool"
  elif [ "$size" -ge "$limit" ]; then
    fail "$name is $size bytes (limit 10 MB)"
  fi
done
for p in MLPipelines.Tests MLPipelines.StockLoad.Tests MLPipelines.Benchmarks; do
  [ ! -e "$feed/$p.$version.nupkg" ] || fail "$p must not be packable"
done

step "building a fresh console app from the feed with the README's first C# example"
app="$work/app"
# The local feed first, then the registry the repository is configured with (ML.NET and its dependencies).
sed "s#<clear />#<clear />\n    <add key=\"local-feed\" value=\"$feed\" />#" nuget.config >"$app/nuget.config"
cat >"$app/App.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <!-- Its own package folder (no stale MLPipelines packages), the machine's cache as a read-only fallback. -->
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
    <RestoreAdditionalProjectFallbackFolders>${NUGET_PACKAGES:-$HOME/.nuget/packages}</RestoreAdditionalProjectFallbackFolders>
    <NoWarn>\$(NoWarn);NU1603</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="MLPipelines.Data" Version="$version" />
    <PackageReference Include="MLPipelines.Trainers" Version="$version" />
  </ItemGroup>
</Project>
EOF
# Program.cs: the README's first C# block, verbatim.
awk '/^```csharp/ && !done { inside = 1; next } inside && /^```/ { inside = 0; done = 1; next } inside' README.md >"$app/Program.cs"
[ -s "$app/Program.cs" ] || fail "no C# block found in README.md"
# Generated images where the example looks for them (data/sign-language-digits/6 and /8), written before Main runs.
cat >"$app/GeneratedImages.cs" <<'EOF'
using System.Runtime.CompilerServices;

static class GeneratedImages
{
    [ModuleInitializer]
    internal static void Write()
    {
        var random = new Random(7);
        foreach (var (label, vertical) in new[] { ("6", true), ("8", false) })
        {
            string dir = Path.Combine("data", "sign-language-digits", label);
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 30; i++)
            {
                const int size = 32;
                int rowSize = (size * 3 + 3) & ~3;
                var bmp = new byte[54 + rowSize * size];
                "BM"u8.CopyTo(bmp);
                BitConverter.TryWriteBytes(bmp.AsSpan(2), bmp.Length);
                BitConverter.TryWriteBytes(bmp.AsSpan(10), 54);
                BitConverter.TryWriteBytes(bmp.AsSpan(14), 40);
                BitConverter.TryWriteBytes(bmp.AsSpan(18), size);
                BitConverter.TryWriteBytes(bmp.AsSpan(22), size);
                bmp[26] = 1;
                bmp[28] = 24;
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        int stripe = ((vertical ? x : y) / 4) % 2 == 0 ? 200 : 50;
                        byte v = (byte)Math.Clamp(stripe + random.Next(-40, 41), 0, 255);
                        int o = 54 + y * rowSize + x * 3;
                        bmp[o] = bmp[o + 1] = bmp[o + 2] = v;
                    }
                File.WriteAllBytes(Path.Combine(dir, $"img{i}.bmp"), bmp);
            }
        }
    }
}
EOF
(cd "$app" && dotnet build -c Release -v quiet -nologo >"$work/app-build.log" 2>&1) || { cat "$work/app-build.log"; fail "the console app does not build against the packages"; }
output=$(cd "$app" && dotnet run -c Release --no-build 2>&1) || { echo "$output"; fail "the README example failed"; }
echo "  README example: $output"
grep -q '^accuracy .*AUC' <<<"$output" || fail "the README example printed no accuracy line"
[ -s "$app/model.zip" ] && [ -s "$app/mlp.onnx" ] || fail "the README example wrote no model.zip / mlp.onnx"
grep -q "\"MLPipelines.Trainers/$version\"" "$app/obj/project.assets.json" \
  || fail "the app did not restore MLPipelines.Trainers $version from the feed"

step "installing the mlpipelines tool from the feed"
dotnet tool install mlpipelines --version "$version" --tool-path "$work/tool" --configfile "$app/nuget.config" >"$work/tool-install.log" 2>&1 \
  || { cat "$work/tool-install.log"; fail "dotnet tool install mlpipelines"; }
tool_version=$("$work/tool/mlpipelines" --version) || fail "mlpipelines --version failed"
echo "  $tool_version"
[ "$tool_version" = "mlpipelines $version" ] || fail "mlpipelines --version printed '$tool_version', expected 'mlpipelines $version'"

step "passed"
