#!/usr/bin/env bash
# Proves the depguard rules of .golangci.yml bite: in a temporary copy of the
# tree (the working tree is never touched), adds one file per rule with an
# import that rule forbids, runs the linter and fails unless every one of them
# is reported, by the rule it breaks.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Tracked and new (not ignored) files: the tree as it would be committed.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  if [ -f "$f" ]; then mkdir -p "$tmp/$(dirname "$f")" && cp "$f" "$tmp/$f"; fi
done

mod=github.com/orderflow/orderflow
# case FILE RULE IMPORT: FILE (in the copy) imports IMPORT, which RULE forbids.
# depguard names the first rule that rejects an import: in app's own files the
# strict 'app' list already rejects another service's package, so the
# per-service rules are shown on a test file, where only they apply.
cases=(
  "app/orders/lintselftest.go app $mod/app/inventory"
  "app/poison/lintselftest_test.go app-poison $mod/app/delivery"
  "app/inventory/lintselftest.go app $mod/infra/faults"
  "app/delivery/lintselftest.go app github.com/ThreeDotsLabs/watermill"
  "messages/lintselftest.go messages github.com/google/uuid"
  "handlers/orders/lintselftest.go handlers $mod/infra/faults"
  "infra/faults/lintselftest.go no-cmd $mod/cmd/lintselftestlib"
)
# A library under cmd that could be imported (the real ones are main or internal).
mkdir -p "$tmp/cmd/lintselftestlib"
printf 'package lintselftestlib\n' >"$tmp/cmd/lintselftestlib/lib.go"
for c in "${cases[@]}"; do
  read -r file _ imp <<<"$c"
  pkg=$(sed -n 's/^package \([a-z_]*\)$/\1/p' "$(ls "$tmp/$(dirname "$file")"/*.go | grep -v _test.go | head -1)" | head -1)
  printf 'package %s\n\nimport _ "%s"\n' "$pkg" "$imp" >"$tmp/$file"
done

out=$(cd "$tmp" && go tool -modfile="$tmp/tools/lint/go.mod" golangci-lint run --allow-parallel-runners --enable-only depguard ./... 2>&1) && {
  echo "lint:selftest: the linter passed a tree with forbidden imports:" >&2
  echo "$out" >&2
  exit 1
}
failed=0
for c in "${cases[@]}"; do
  read -r file rule imp <<<"$c"
  if grep -qF "$file:" <<<"$out" && grep -F "$file:" <<<"$out" | grep -qF "'$rule'"; then
    echo "ok   $file: import $imp rejected by rule $rule"
  else
    echo "FAIL $file: import $imp not rejected by rule $rule" >&2
    failed=1
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "$out" >&2
  exit 1
fi
# Nothing else may be reported: the rest of the tree is clean.
others=$(grep -E '^[^ ]+\.go:[0-9]+' <<<"$out" | grep -v lintselftest || true)
if [ -n "$others" ]; then
  echo "lint:selftest: findings outside the planted files:" >&2
  echo "$others" >&2
  exit 1
fi
echo "lint:selftest: every layering rule rejects its forbidden import ($root untouched)"
