#!/usr/bin/env bash
# Lists the tests of a test project at a base commit and in the working tree (`dotnet test --list-tests`) and
# reports every test of the base that the working tree no longer has, so that a migration loses none.
#
#   tests/compare-test-names.sh tests/FunctionalNets.Cuda.Tests [base-commit]   (base: origin/main or main)
#   tests/compare-test-names.sh --lists before.txt after.txt    (lists saved from `dotnet test --list-tests`)
#
# A name of the base ("Namespace.Module.test name", or a theory row "Namespace.Module.theory(arg: \"value\")") is
# found when a name of the bridge ("List/.../test name") ends with the test name, or, for a row, has the theory as a
# list and the value as the test. xunit shortens long arguments ("abc"···): those match by prefix. A name that is in
# both lists as it stands (an Expecto test at the base already) is found as itself.
# Exit status 1 when a test is missing. Builds both trees (Debug); the base in a temporary worktree.
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

list() { # $1: repository root; prints one test name a line
    dotnet build "$1/$project" -c Debug -v q -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 2; }
    dotnet test "$1/$project" -c Debug --no-build --list-tests 2>/dev/null | sed -n 's/^    //p'
}

if [ "${1:-}" = "--lists" ]; then
    sed -n 's/^    //p' "${2:?before list}" >"$work/before.txt"
    sed -n 's/^    //p' "${3:?after list}" >"$work/after.txt"
else
    project="${1:?usage: $0 tests/Project [base-commit] | --lists before.txt after.txt}"
    base="${2:-$(git -C "$root" rev-parse --verify -q origin/main || git -C "$root" rev-parse main)}"
    git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null 2>&1
    list "$work/base" >"$work/before.txt"
    list "$root" >"$work/after.txt"
fi

python3 - "$work/before.txt" "$work/after.txt" <<'PY'
import re, sys
before = [l.rstrip('\n') for l in open(sys.argv[1]) if l.strip()]
after = [l.rstrip('\n') for l in open(sys.argv[2]) if l.strip()]

truncated = '\u00b7\u00b7\u00b7'
# Test names may hold '/' themselves ("max/min"): every split of an Expecto name into list and test is a candidate.
pairs, leaves = set(), set()
for n in after:
    parts = n.split('/')
    for j in range(len(parts)):
        leaves.add('/'.join(parts[j:]))
        for i in range(j):
            pairs.add(('/'.join(parts[i:j]), '/'.join(parts[j:])))

after_names = set(after)

def found(n):
    # A name in both lists (a test already in Expecto at the base) is the same test, whatever its form.
    if n in after_names:
        return True
    # xunit: "Namespace.Module.test name", or a theory row "Namespace.Module.theory(arg: \"value\", ...)"
    m = re.match(r'^(.*)\((\w+: .*)\)$', n)
    if m:
        head, args = m.group(1), m.group(2)
        vals = ', '.join(re.sub(r'^\w+: ', '', a.strip()).strip('"') for a in re.split(r', (?=\w+: )', args))
        if truncated in vals:
            prefix = vals.split(truncated)[0].rstrip('"')
            return any(head.endswith('.' + l) and v.startswith(prefix) for l, v in pairs)
        return any(head.endswith('.' + l) and v == vals for l, v in pairs)
    return any(n.endswith('.' + l) for l in leaves)

missing = [n for n in before if not found(n)]

print(f"before: {len(before)} tests, after: {len(after)} tests, missing: {len(missing)}")
for n in missing:
    print("  missing: " + n)
sys.exit(1 if missing else 0)
PY
