#!/usr/bin/env bash
# Runs a benchmark from a user's own project OUTSIDE the repository and from the repository, alternating.
#
#   bench/consumer-check.sh [ROUNDS] [BENCHMARK...]        (default: 3 rounds of mnist_mlp_epoch mlp_step)
#
# The user's project is what `dotnet new console` makes (no JIT settings, no Directory.Build.props above it),
# with a project reference to bench/FunctionalNets.Bench, whose Program.main it calls: the same benchmark code,
# run under the JIT configuration of an ordinary application. It is created in a new temporary folder.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
shift || true
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(mnist_mlp_epoch mlp_step)

user="$(mktemp -d /tmp/fn-consumer-XXXXXX)"
cat > "$user/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$repo/bench/FunctionalNets.Bench/FunctionalNets.Bench.fsproj" />
  </ItemGroup>
</Project>
EOF
cat > "$user/Main.cs" <<'EOF'
return FunctionalNets.Bench.Program.main(args);
EOF

dotnet build -c Release "$repo/bench/FunctionalNets.Bench" -v q -nologo > /dev/null
dotnet build -c Release "$user" -v q -nologo > /dev/null
export FUNCTIONALNETS_DATA="${FUNCTIONALNETS_DATA:-$repo/data}"
echo "user project: $user"
grep -o avx512f /proc/cpuinfo 2>/dev/null | head -1 | sed 's/^/cpu: /' || true

for r in $(seq 1 "$rounds"); do
    echo "## round $r, load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?)"
    (cd "$repo" && dotnet bench/FunctionalNets.Bench/bin/Release/net10.0/FunctionalNets.Bench.dll "${benches[@]}" | sed 's/^/repo: /')
    (cd "$user" && dotnet bin/Release/net10.0/Consumer.dll "${benches[@]}" | sed 's/^/user: /')
done
rm -rf "$user"
