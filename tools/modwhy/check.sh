#!/usr/bin/env bash
# The product's go.mod carries the product's world only (issue 11, item 2):
#  - it is tidy (`go mod tidy -diff` is empty);
#  - its only tool is the tools/task shim (standard library only; Task itself is pinned in
#    tools/task/pin/go.mod, golangci-lint in tools/lint/go.mod);
#  - every indirect requirement is there because a product package imports something that needs
#    it: `go mod why -m` must start its chain at a package of this module.
# Prints each indirect requirement with its chain; exits 1 naming any that fails.
#
#   tools/modwhy/check.sh        # or: go tool task lint:mod
#   tools/modwhy/check.sh -q     # only the summary and the failures
set -euo pipefail
cd "$(dirname "$0")/../.."
quiet=${1:-}

module=$(go list -m)
fail=0

if ! diff=$(go mod tidy -diff 2>&1); then
  echo "go.mod/go.sum are not tidy (go mod tidy -diff):"
  echo "$diff"
  fail=1
fi

# go.mod as `go mod tidy` writes it: `tool PATH` lines or a `tool (...)` block, `PATH VERSION // indirect`.
tools=$(awk '$1 == "tool" && $2 != "(" {print $2} /^tool \(/ {b=1; next} b && /^\)/ {b=0} b {print $1}' go.mod)
if [ "$tools" != "$module/tools/task" ]; then
  echo "go.mod's tools must be exactly $module/tools/task (build tools live in modules under tools/), found:"
  echo "${tools:-(none)}"
  fail=1
fi

mapfile -t indirect < <(awk '/\/\/ indirect$/ {print ($1 == "require" ? $2 : $1)}' go.mod)
direct=$(awk '/^require \(/ {b=1; next} b && /^\)/ {b=0} (b || $1 == "require") && !/\/\/ indirect$/ && !/\($/ {n++} END {print n+0}' go.mod)
bad=()
if [ "${#indirect[@]}" -gt 0 ]; then
  # One call for all: sections of "# module" then the chain of packages, blank-line separated.
  why=$(go mod why -m "${indirect[@]}")
  while IFS= read -r -d $'\x1e' section; do
    [ -n "$section" ] || continue
    mod=$(sed -n '1s/^# //p' <<<"$section")
    first=$(sed -n '2p' <<<"$section")
    if [[ "$first" != "$module" && "$first" != "$module/"* ]] || [[ "$first" == "$module/tools/"* ]]; then
      bad+=("$mod: ${first:-no chain}")
    fi
    if [ "$quiet" != "-q" ]; then
      echo "$mod: $(sed -n '2,$p' <<<"$section" | paste -sd' ' | sed 's/ / -> /g')"
    fi
  done < <(awk 'BEGIN{RS=""; ORS="\x1e"} {print}' <<<"$why")
fi

echo "go.mod: ${direct} direct and ${#indirect[@]} indirect requirements, tools: ${tools:-none}"
if [ "${#bad[@]}" -gt 0 ]; then
  echo "indirect requirements that no product package needs (go mod why -m):"
  printf '  %s\n' "${bad[@]}"
  fail=1
fi
exit "$fail"
