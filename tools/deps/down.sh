#!/usr/bin/env bash
# Stop the local dependencies started by tools/deps/up.sh (each script stops its own server by the
# PID it recorded) and remove .deps/env. Data under .deps/ is kept.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Reverse start order; a script that is not there has nothing running.
status=0
for d in kafka mongo; do
	if [ -x "$root/tools/deps/$d.sh" ]; then
		"$root/tools/deps/$d.sh" stop || status=1
	fi
done
rm -f "$root/.deps/env"
exit "$status"
