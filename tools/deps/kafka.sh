#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft: broker and controller in one JVM) for local runs and tests.
# There is no Docker here, so the broker comes from Maven Central as plain jars (tools/kafka/pom.xml).
#
#   tools/deps/kafka.sh start   # prints: export KAFKA_BROKERS=127.0.0.1:9092  (all else goes to stderr)
#   tools/deps/kafka.sh stop
#   eval "$(tools/deps/kafka.sh start)"
#
# Env: KAFKA_ADDR (127.0.0.1:9092), KAFKA_CONTROLLER_ADDR (127.0.0.1:9093), KAFKA_PARTITIONS (4,
# for auto-created topics), KAFKA_HEAP (-Xms512m -Xmx512m), KAFKA_START_TIMEOUT (120 s),
# KAFKA_STATE_DIR (.deps/kafka: data, config and logs; its pid file and lock are <dir>.pid and
# <dir>.lock, so a second broker with its own state dir and addresses is independent of the first).
# Data survives stop/start; `rm -rf .deps/kafka` (broker stopped) wipes it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/tools/kafka/pom.xml"
LIB="$ROOT/tools/kafka/lib"
STATE="${KAFKA_STATE_DIR:-$ROOT/.deps/kafka}"
STATE="${STATE%/}"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
PIDFILE="$STATE.pid"
LOCKFILE="$STATE.lock"

ADDR="${KAFKA_ADDR:-127.0.0.1:9092}"
CONTROLLER_ADDR="${KAFKA_CONTROLLER_ADDR:-127.0.0.1:9093}"
PARTITIONS="${KAFKA_PARTITIONS:-4}"
HEAP="${KAFKA_HEAP:--Xms512m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"

log() { echo "kafka: $*" >&2; }

# PID of this checkout's broker, or nothing. The command line must name our server.properties, so
# a recycled PID is never taken for the broker (nor signalled by `stop`); a broker whose pid file
# got lost is found again the same way.
is_our_broker() { [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" == *"kafka.Kafka $STATE/server.properties "* ]]; }
running_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_our_broker "$pid"; then
    echo "$pid"
    return 0
  fi
  for pid in $(pgrep -f "kafka.Kafka $STATE/server.properties" || true); do
    if is_our_broker "$pid"; then
      echo "$pid" >"$PIDFILE"
      echo "$pid"
      return 0
    fi
  done
}

# Sends one raw Kafka request (printf escapes) and prints the first $2 bytes of the reply in hex;
# bash's /dev/tcp keeps the script free of client tools.
kafka_call() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "$2" >&3; head -c "$3" <&3 | od -An -tx1 | tr -d " \n"' \
    "${ADDR%:*}" "${ADDR##*:}" "$1" "$2" 2>/dev/null || true
}

# A TCP connect proves nothing: Kafka binds its port long before it serves requests. An answer to
# ApiVersions v0 (key 18) does: Kafka 4.x enables request processing only after the broker is
# unfenced, i.e. once it can create topics and lead partitions.
answers() {
  [[ "$(kafka_call '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff' 4)" =~ ^[0-9a-f]{8}$ ]]
}

# After each start the broker has no block of producer ids yet: the first InitProducerId gets
# COORDINATOR_LOAD_IN_PROGRESS while it fetches one, and Sarama 1.38 treats that as fatal, so the
# first idempotent publisher fails. Ask (InitProducerId v0, key 22) until the reply's error code is 0.
producer_ids_ready() {
  [[ "$(kafka_call '\x00\x00\x00\x10\x00\x16\x00\x00\x00\x00\x00\x02\xff\xff\xff\xff\x00\x00\xea\x60' 14)" =~ ^[0-9a-f]{24}0000$ ]]
}

# Jars are fetched once per pom content, into an ignored temp dir first so that an interrupted
# download never leaves a half-filled lib/ that looks complete.
fetch_jars() {
  local sum
  sum="$(sha256sum "$POM" | cut -d' ' -f1)"
  [[ -f "$LIB/.pom.sha256" && "$(cat "$LIB/.pom.sha256")" == "$sum" ]] && return 0
  log "fetching broker jars from Maven Central (first run: ~45 MB)"
  local tmp="$ROOT/.deps/kafka-lib.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local out t0=$SECONDS
  # Output only on failure: even with -q, Debian's Maven 3.8 prints stray colour escapes.
  out="$(mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1)" ||
    { echo "$out" >&2; rm -rf "$tmp"; return 1; }
  echo "$sum" >"$tmp/.pom.sha256"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  log "fetched $(du -sh "$LIB" | cut -f1) in $((SECONDS - t0))s"
}

write_config() {
  mkdir -p "$STATE/data" "$STATE/logs"
  # Static voter list rather than a dynamic (--standalone) quorum: the voter endpoint then comes from
  # this file on every start, so changing KAFKA_CONTROLLER_ADDR does not strand existing data.
  cat >"$STATE/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$CONTROLLER_ADDR
listeners=PLAINTEXT://$ADDR,CONTROLLER://$CONTROLLER_ADDR
advertised.listeners=PLAINTEXT://$ADDR
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$STATE/data

# A test broker: topics appear on first use, everything has one replica.
auto.create.topics.enable=true
num.partitions=$PARTITIONS
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions: the first consumer group join creates __consumer_offsets (default 50).
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8
# Groups start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Two shared cores: keep thread pools and disk use small.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.segment.bytes=16777216
log.retention.hours=24
EOF
  cat >"$STATE/log4j2.properties" <<EOF
# Broker log to a size-capped file (Kafka 4.x logs through log4j2).
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $STATE/logs/server.log
appender.file.filePattern = $STATE/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF
}

start() {
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid)"
    echo "export KAFKA_BROKERS=$ADDR"
    return 0
  fi
  rm -f "$PIDFILE"
  if answers; then
    log "something else already serves Kafka on $ADDR (not started by this script)"
    return 1
  fi

  fetch_jars
  write_config
  local java=(java -cp "$LIB/*" -Dlog4j2.configurationFile="$STATE/log4j2.properties")
  local t0=$SECONDS log_from
  log_from=$(($(wc -l 2>/dev/null <"$STATE/logs/server.log" || echo 0) + 1))

  # Format once; the cluster id only has to be a random base64url UUID.
  if [[ ! -f "$STATE/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$STATE/server.properties" \
      >"$STATE/logs/format.out" 2>&1 || { cat "$STATE/logs/format.out" >&2; return 1; }
  fi

  # setsid: detach from the caller's process group so its Ctrl-C / job teardown does not kill the
  # broker; the inner shell records its own PID (which exec hands to the JVM) with a rename, so the
  # pid file is never seen empty. 9>&-: the broker must not inherit the lock.
  # TieredStopAtLevel=1 (C1 JIT only): ~40% less CPU to start, which is what a test broker on two
  # shared cores waits for; peak throughput does not matter here.
  # shellcheck disable=SC2086 # HEAP is a list of JVM flags
  nohup setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$PIDFILE" \
    "${java[@]}" $HEAP -XX:TieredStopAtLevel=1 -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true kafka.Kafka "$STATE/server.properties" \
    >"$STATE/logs/kafka.out" 2>&1 </dev/null 9>&- &

  local deadline=$((SECONDS + START_TIMEOUT))
  until answers && producer_ids_ready; do
    if ((SECONDS >= deadline)); then
      log "not ready after ${START_TIMEOUT}s; see $STATE/logs/"
      stop
      return 1
    fi
    if [[ -z "$(running_pid)" ]] && [[ -f "$PIDFILE" || $((SECONDS - t0)) -gt 5 ]]; then
      log "broker exited during start; errors from $STATE/logs:"
      { cat "$STATE/logs/kafka.out"; tail -n "+$log_from" "$STATE/logs/server.log"; } 2>/dev/null |
        grep -E 'ERROR|FATAL|Caused by|Exception' | tail -n 8 >&2 || true
      rm -f "$PIDFILE"
      return 1
    fi
    sleep 0.5
  done
  log "ready on $ADDR in $((SECONDS - t0))s (pid $(running_pid), logs in $STATE/logs)"
  echo "export KAFKA_BROKERS=$ADDR"
}

stop() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  # A clean shutdown flushes logs and avoids log recovery on the next start; it takes a few seconds.
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "no exit 30s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

# One broker per checkout, shared by whoever runs this (parallel test packages, other sessions):
# start and stop hold a lock so that two callers never launch two JVMs or race on the pid file.
lock() {
  mkdir -p "$ROOT/.deps" "$(dirname "$LOCKFILE")"
  exec 9>"$LOCKFILE"
  flock -w $((START_TIMEOUT + 60)) 9 || { log "timed out waiting for $LOCKFILE"; exit 1; }
}

case "${1:-}" in
  # A broker that exits during its start is tried once more: CI saw one take a SIGTERM from
  # nowhere it could trace 2.5 s into its start (2026-12-02, the bench stage), where the next
  # start works; a broker that cannot start fails twice, and that is reported.
  start) lock; start || { log "start failed; trying once more"; start; } ;;
  stop) lock; stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
