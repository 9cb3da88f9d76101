#!/usr/bin/env bash
# Start/stop the local MongoDB-wire test server (tools/mongotest: FerretDB + SQLite behind a
# front that serialises commands). Usage:
#
#   eval "$(tools/deps/mongo.sh start)"   # builds, starts, prints: export MONGODB_URI=...
#   tools/deps/mongo.sh stop
#
# Env: MONGOTEST_ADDR (default 127.0.0.1:27018, loopback only), MONGOTEST_STATE_DIR (default
# <repo>/.deps/mongo: the data dir; its pid file and log are <dir>.pid and <dir>.log, so a second
# server with its own state dir and address is independent of the first).
# State under <repo>/.deps/: bin/mongotest, mongo/ (data, kept across restarts), mongo.pid, mongo.log.
# Only the export line goes to stdout; messages go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
deps="$root/.deps"
bin="$deps/bin/mongotest"
data="${MONGOTEST_STATE_DIR:-$deps/mongo}"
data="${data%/}"
[[ "$data" == /* ]] || data="$PWD/$data"
pidfile="$data.pid"
logfile="$data.log"
addr="${MONGOTEST_ADDR:-127.0.0.1:27018}"

say() { echo "mongo.sh: $*" >&2; }

# alive: the process exists and is not a zombie (an exited child not yet reaped, e.g. by an init
# that reaps lazily, still answers kill -0).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local stat
	if stat="$(cat "/proc/$1/stat" 2>/dev/null)"; then
		stat="${stat##*) }"
		[[ "${stat:0:1}" != Z ]] || return 1
	fi
}

# running prints the PID if the pid file names a live mongotest process.
running() {
	[[ -f "$pidfile" ]] || return 1
	local pid
	pid="$(cat "$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	# Guard against a recycled PID: the process must be our binary.
	local args=""
	if [[ -r "/proc/$pid/cmdline" ]]; then
		args="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
	elif command -v ps >/dev/null; then
		args="$(ps -o args= -p "$pid" 2>/dev/null || true)"
	else
		args=mongotest # cannot check; trust the pid file
	fi
	[[ "$args" == *mongotest* ]] || return 1
	echo "$pid"
}

uri_line() { grep -m1 '^MONGODB_URI=' "$logfile" 2>/dev/null; }

start() {
	local pid line
	if pid="$(running)"; then
		say "already running (pid $pid)"
		line="$(uri_line)" || line="MONGODB_URI=mongodb://$addr/"
		echo "export $line"
		return 0
	fi
	rm -f "$pidfile"
	mkdir -p "$deps/bin" "$data"

	say "building $bin (the first build downloads ~110 modules and compiles FerretDB: minutes)"
	# GOWORK=off keeps the tool in its own module; -buildvcs=false works without git metadata.
	# FerretDB is built from a copy with tools/mongotest/_ferretdb/sqlite_collection.go in place of its
	# own file: it looks a document up by its _id whatever else the filter holds (FerretDB scans the
	# table unless _id is the filter's only key), so an {_id, revision} compare-and-set reads one row.
	# (go build -overlay refuses files of the module cache, hence the copy and a replace.)
	local ferret src="$deps/mongotest-src"
	GOWORK=off go mod download -C "$root/tools/mongotest" github.com/FerretDB/FerretDB
	ferret="$(GOWORK=off go list -C "$root/tools/mongotest" -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)"
	rm -rf "$src"
	mkdir -p "$src"
	cp -R "$ferret" "$src/ferretdb"
	chmod -R u+w "$src/ferretdb"
	cp "$root/tools/mongotest/_ferretdb/sqlite_collection.go" "$src/ferretdb/internal/backends/sqlite/collection.go"
	cp "$root"/tools/mongotest/*.go "$root/tools/mongotest/go.mod" "$root/tools/mongotest/go.sum" "$src/"
	rm -f "$src"/*_test.go
	GOWORK=off go mod edit -C "$src" -replace "github.com/FerretDB/FerretDB=./ferretdb"
	GOWORK=off go build -C "$src" -buildvcs=false -o "$bin" .

	say "starting on $addr, data in $data, log in $logfile"
	nohup "$bin" -addr "$addr" -data "$data" </dev/null >"$logfile" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"

	# Bounded wait (~60 s) for the ready line; fail early if the process died.
	for _ in $(seq 1 600); do
		if line="$(uri_line)"; then
			echo "export $line"
			return 0
		fi
		if ! alive "$pid"; then
			rm -f "$pidfile"
			say "mongotest exited during startup; log:"
			tail -n 20 "$logfile" >&2
			return 1
		fi
		sleep 0.1
	done
	say "not ready after 60 s; stopping it. Log: $logfile"
	stop
	return 1
}

stop() {
	local pid
	if ! pid="$(running)"; then
		rm -f "$pidfile"
		say "not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do # up to ~10 s for a clean stop
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		say "pid $pid did not stop after SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	say "stopped (pid $pid)"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
