#!/usr/bin/env bash
# Starts a private redis-server for the Redis tests and stops it afterwards, by its pid.
#
# Two ways to use it:
#   scripts/ci-redis.sh npm test        # wrap: run the command with TBF_REDIS_URL set, stop Redis after,
#                                       # exit with the command's status (also on failure or Ctrl-C)
#   source scripts/ci-redis.sh          # source: start Redis, export TBF_REDIS_URL, and stop Redis when
#                                       # the sourcing shell exits (an EXIT trap; an existing one is kept)
#
# Installs Debian's redis-server first when it is missing (apt-get; as root, or through sudo), and
# libfaketime with tcmalloc, under which the tests start their own redis-server whose clock follows the
# test's fake clock (timeSource: 'redis'; see test/redis/server.ts).
# The server listens on a free port of 127.0.0.1 only, with persistence off (no RDB, no AOF), and writes
# its log to a temporary folder that is removed at the end.
#
# Redis Cluster: the cluster tests start their own clusters from the same redis-server (test/redis/cluster.ts),
# or use the one that TBF_REDIS_CLUSTER_URL names (comma-separated seed URLs), if set before this script.

tbf_redis_install() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(libfaketime)
  [ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || missing+=(libtcmalloc-minimal4)
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "ci-redis: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
}

tbf_redis_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

tbf_redis_ping() {
  # PING without redis-cli: bash's /dev/tcp.
  local reply=""
  { exec 9<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&9
  read -r -t 1 reply <&9 || true
  exec 9>&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

tbf_redis_start() {
  tbf_redis_install || { echo "ci-redis: could not install redis-server" >&2; return 1; }
  TBF_REDIS_DIR="$(mktemp -d)"
  local port
  port="$(tbf_redis_free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TBF_REDIS_DIR" --logfile "$TBF_REDIS_DIR/redis.log" &
  TBF_REDIS_PID=$!
  local tries=0
  until tbf_redis_ping "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$TBF_REDIS_PID" 2>/dev/null; then
      echo "ci-redis: redis-server did not start on port $port; its log:" >&2
      cat "$TBF_REDIS_DIR/redis.log" >&2 || true
      tbf_redis_stop
      return 1
    fi
    sleep 0.1
  done
  export TBF_REDIS_URL="redis://127.0.0.1:$port"
  export TBF_REDIS_PID
  echo "ci-redis: redis-server pid $TBF_REDIS_PID at $TBF_REDIS_URL ($(redis-server --version | cut -d' ' -f3))" >&2
}

tbf_redis_stop() {
  if [ -n "${TBF_REDIS_PID:-}" ] && kill -0 "$TBF_REDIS_PID" 2>/dev/null; then
    kill "$TBF_REDIS_PID" 2>/dev/null || true
    local tries=0
    while kill -0 "$TBF_REDIS_PID" 2>/dev/null && [ "$tries" -lt 50 ]; do
      sleep 0.1
      tries=$((tries + 1))
    done
    kill -9 "$TBF_REDIS_PID" 2>/dev/null || true
    wait "$TBF_REDIS_PID" 2>/dev/null || true
    echo "ci-redis: stopped redis-server pid $TBF_REDIS_PID" >&2
  fi
  TBF_REDIS_PID=""
  [ -n "${TBF_REDIS_DIR:-}" ] && rm -rf "$TBF_REDIS_DIR"
  TBF_REDIS_DIR=""
  return 0
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start now, stop when the sourcing shell exits (after whatever EXIT trap it already had).
  tbf_redis_start || return 1
  tbf_redis_previous_trap="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")"
  # shellcheck disable=SC2064
  trap "tbf_redis_stop; ${tbf_redis_previous_trap:-:}" EXIT
else
  set -uo pipefail
  if [ "$#" -eq 0 ]; then
    echo "usage: $0 <command...>   or   source $0" >&2
    exit 2
  fi
  tbf_redis_start || exit 1
  trap 'tbf_redis_stop' EXIT
  trap 'exit 130' INT TERM
  "$@"
  exit $?
fi
