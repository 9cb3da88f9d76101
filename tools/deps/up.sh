#!/usr/bin/env bash
# Start the local dependencies that exist in this checkout (tools/deps/<name>.sh start|stop): the
# MongoDB-wire test server, and Kafka when tools/deps/kafka.sh is there. Their exports go to
# .deps/env (ignored by git) and to stdout; everything else goes to stderr.
#
#   tools/deps/up.sh              # or: go tool task deps:up; then: source .deps/env
#   tools/deps/up.sh --running    # prints .deps/env if every server in it answers, else nothing
#   tools/deps/down.sh            # stops them (each script stops its server by PID)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
envfile="$root/.deps/env"

say() { echo "up.sh: $*" >&2; }

# The dependencies, in start order.
deps=(mongo)
[ -x "$root/tools/deps/kafka.sh" ] && deps+=(kafka)

# answers HOST:PORT: something accepts TCP connections there (bash's /dev/tcp, no client tools).
answers() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/${0%:*}/${0##*:}"' "$1" 2>/dev/null
}

# first_address VALUE: the first host:port of a URI or broker list (mongodb://h:p,h2:p2/db?x -> h:p).
first_address() {
	local v="${1#*://}"
	v="${v##*@}"
	v="${v%%[/?,]*}"
	echo "$v"
}

running() {
	[ -f "$envfile" ] || return 0
	local line value
	while IFS= read -r line; do
		[[ "$line" == export\ *=* ]] || continue
		value="${line#*=}"
		answers "$(first_address "$value")" || return 0 # stale: the caller starts what it needs
	done <"$envfile"
	cat "$envfile"
}

up() {
	mkdir -p "$root/.deps"
	local tmp="$envfile.tmp.$$" failed=() d out
	: >"$tmp"
	for d in "${deps[@]}"; do
		if out="$("$root/tools/deps/$d.sh" start)"; then
			printf '%s\n' "$out" >>"$tmp"
		else
			failed+=("$d")
		fi
	done
	# Written whole, so a reader never sees half a file; it lists what did start.
	mv "$tmp" "$envfile"
	cat "$envfile"
	if ((${#failed[@]})); then
		say "failed to start: ${failed[*]} (the others are up; tools/deps/down.sh stops them)"
		return 1
	fi
	say "up: ${deps[*]}; exports in $envfile"
}

case "${1:-}" in
"") up ;;
--running) running ;;
*)
	echo "usage: $0 [--running]" >&2
	exit 2
	;;
esac
