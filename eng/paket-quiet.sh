#!/bin/sh
# Paket's restore prints four or five lines per project on a fresh build. The build runs it through
# this script, which holds the output back and shows it only when Paket fails.
out=$(dotnet paket "$@" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" >&2
fi
exit "$rc"
