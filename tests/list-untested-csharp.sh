#!/usr/bin/env bash
# Lists the public C# surface that no C# test names: every public constructor, method, property and indexer of the
# host (src/FunctionalNets), and the C#-facing members of Core/Nn/Data/Plots (extension methods and [<CompiledName>]
# members), found by reflection over the built assemblies (list-untested-csharp.fsx), less those whose name appears
# in tests/FunctionalNets.Tests/*.cs:
#   - a static member counts as named when "Type.Member" appears (Layers.GroupNorm);
#   - an instance member or an extension method when ".Member" does, or "Member:" / "Member =" (named arguments,
#     initialisers); a constructor when its type's name does; an indexer when a string index does (x["...");
#   - an F# member that the host wraps under the same name (Nn's Conv2d behind Layers.Conv2d) when the host's
#     member is named; --verbose lists these apart.
# Overloads share a name, so one mention covers them all, and naming is not testing: read the list as a lower
# bound of what is untested.
#
#   tests/list-untested-csharp.sh              builds the test project (Debug), prints "assembly Type.Member (kind)"
#   tests/list-untested-csharp.sh --no-build   uses the existing build
#   tests/list-untested-csharp.sh --check      exits 1 when a host member is unnamed
#   tests/list-untested-csharp.sh --verbose    also lists the F# members reached only through a host wrapper
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
project="$root/tests/FunctionalNets.Tests"
build=1 check=0 verbose=0
for arg in "$@"; do
    case "$arg" in
    --no-build) build=0 ;;
    --check) check=1 ;;
    --verbose) verbose=1 ;;
    *) echo "usage: $0 [--no-build] [--check] [--verbose]" >&2; exit 2 ;;
    esac
done
if [ "$build" = 1 ]; then
    log="$(mktemp)"
    dotnet build "$project" -c Debug -v q -nologo >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 2; }
    rm -f "$log"
fi
bin="$(dirname "$(ls -t "$project"/bin/Debug/*/FunctionalNets.dll | head -1)")"
surface="$(dotnet fsi --quiet "$root/tests/list-untested-csharp.fsx" "$bin")"
sources="$(cat "$project"/*.cs)"

named() { # $1: type's short name, $2: member, $3: kind
    local pattern
    case "$3" in
    ctor) pattern="\\b$1\\b" ;;
    indexer) pattern="[]A-Za-z0-9_)]\\[\"" ;;
    static-*) pattern="\\b$1\\.$2\\b" ;;
    extension*) pattern="\\.$2\\b" ;;
    *) pattern="\\.$2\\b|\\b$2\\s*(:|=[^=>])" ;;
    esac
    grep -Eq "$pattern" <<<"$sources"
}

host_total=0 host_untested=0 fs_total=0 fs_untested=0 fs_wrapped=0
while IFS=$'\t' read -r asm type member kind; do
    short="${type##*.}"
    if [ "$asm" = FunctionalNets ]; then
        host_total=$((host_total + 1))
        named "$short" "$member" "$kind" && continue
        host_untested=$((host_untested + 1))
    else
        fs_total=$((fs_total + 1))
        named "$short" "$member" "$kind" && continue
        if [[ "$kind" == *-wrapped ]] && grep -Eq "\\b[A-Z][A-Za-z0-9]*\\.$member\\b" <<<"$sources"; then
            fs_wrapped=$((fs_wrapped + 1))
            [ "$verbose" = 1 ] && printf '%-20s %s.%s (%s, named through the host)\n' "$asm" "$type" "$member" "$kind"
            continue
        fi
        fs_untested=$((fs_untested + 1))
    fi
    printf '%-20s %s.%s (%s)\n' "$asm" "$type" "$member" "$kind"
done <<<"$surface"
echo "unnamed in C# tests: host $host_untested of $host_total members;" \
    "F# C#-facing $fs_untested of $fs_total (and $fs_wrapped more named only through the host's wrapper)"
if [ "$check" = 1 ] && [ "$host_untested" -gt 0 ]; then exit 1; fi
exit 0
