#!/usr/bin/env bash
# Throwaway local servers for the tests of the distributed mode (scripts/test.sh starts and stops
# them; scripts/elasticsearch.sh does the same for Elasticsearch):
#
#   bash scripts/services.sh start NAME   start a private server on 127.0.0.1 and a free port,
#                                         wait until it answers and print its URL (the only thing
#                                         on stdout)
#   bash scripts/services.sh url NAME     print the URL of the server started in the run directory
#   bash scripts/services.sh stop NAME    stop that server and delete its run directory
#
# NAME is one of
#   postgres   a cluster of its own (initdb from /usr/lib/postgresql/<newest>/bin, pg_ctl), never
#              the system cluster or service; URL postgresql+psycopg://kartoteka:…@127.0.0.1:PORT/postgres
#              (that account may create databases: the tests make one per test)
#   redis      redis-server without persistence; URL redis://:…@127.0.0.1:PORT/0
#   rabbitmq   a RabbitMQ node of its own (node name, Erlang cookie, epmd on a port of its own,
#              Mnesia and logs in the run directory, no plugins); URL amqp://kartoteka:…@127.0.0.1:PORT/%2F
#
# The servers come from Debian's packages (scripts/bootstrap.sh installs them). Each runs as an
# unprivileged user (as root: the system user kartoteka-svc, created if missing; PostgreSQL
# refuses to run as root), listens on 127.0.0.1 only, keeps everything in its run directory and
# gets a password made for the run, so that another local user cannot use it by chance. They are
# tuned for tests, not for keeping data: no fsync, no snapshots. A server that cannot start ends
# `start` with exit status 3 and the tail of its log.
#
# Environment:
#   KARTOTEKA_SERVICES_DIR  run directory holding one subdirectory per server (created if
#                           missing; `stop` deletes what `start` made)
#                           (default ${TMPDIR:-/tmp}/kartoteka-services)
#   KARTOTEKA_PG_BIN        PostgreSQL's bin directory (default: the newest /usr/lib/postgresql/*/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

SVC_USER=kartoteka-svc
BASE=${KARTOTEKA_SERVICES_DIR:-${TMPDIR:-/tmp}/kartoteka-services}
START_TIMEOUT=60
STOP_TIMEOUT=30
NAME=${2:-}

say() { echo "${NAME:-services}: $*" >&2; }
die() { say "$*"; exit 3; }

# --- helpers --------------------------------------------------------------------------------

# Ports the kernel hands out as free on 127.0.0.1, all held at once so that they differ.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# URL-safe, so that it goes into URLs and config files unquoted.
secret() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

# The command prefix that runs a server as the unprivileged user (nothing when not root).
as_user=()
use_unprivileged_user() {
  [ "$(id -u)" = 0 ] || return 0
  if ! getent passwd "$SVC_USER" >/dev/null; then
    # Servers starting side by side would each create the user: two useradds at once have
    # left two ids for the name (CI), and a directory owned by the one that lost. One at a time.
    local lock=/run/lock
    [ -d "$lock" ] || lock=/tmp
    exec 9>"$lock/kartoteka-useradd.lock"
    flock 9
    if ! getent passwd "$SVC_USER" >/dev/null; then
      say "creating the system user $SVC_USER (the test servers do not run as root)"
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
              --shell /usr/sbin/nologin "$SVC_USER" || die "cannot create the system user $SVC_USER"
    fi
    exec 9>&-
  fi
  as_user=(runuser -u "$SVC_USER" --)
}

# Only the marked directories `start` made are ever deleted, never an arbitrary one.
prepare_run_dir() {
  if [ -d "$RUN" ] && [ ! -f "$RUN/.kartoteka-service" ] && [ -n "$(ls -A "$RUN")" ]; then
    die "$RUN is neither empty nor a previous server's run directory; set KARTOTEKA_SERVICES_DIR"
  fi
  mkdir -p "$BASE"
  # The server's user must reach its own directory inside, and nothing more.
  [ -f "$BASE/.kartoteka-services" ] || { touch "$BASE/.kartoteka-services"; chmod 711 "$BASE"; }
  rm -rf "${RUN:?}"
  mkdir -m 700 "$RUN"
  touch "$RUN/.kartoteka-service"
  use_unprivileged_user
  [ "$(id -u)" != 0 ] || chown "$SVC_USER:$SVC_USER" "$RUN"
}

# Files written by this script as root, made the server's own.
own() { [ "$(id -u)" != 0 ] || chown "$SVC_USER:$SVC_USER" "$@"; }

live_pid() {  # the pid in file $1 if that process is alive and its command line matches $2
  local pid
  [ -r "$1" ] || return 0
  pid=$(tr -d ' \n' <"$1" 2>/dev/null) || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid"
  return 0
}

# Alive and not a zombie: a server whose parent was init may stay one for a while where init is
# not a real one (containers), and must not be waited for.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }

kill_and_wait() {
  local pid=$1 _
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "process $pid ignored SIGTERM for $STOP_TIMEOUT s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

log_tail() {
  local f
  for f in "$@"; do
    [ -s "$f" ] && { say "--- tail of $f"; tail -n 30 "$f" >&2; }
  done
  return 0
}

need() { command -v "$1" >/dev/null || [ -x "$1" ] || die "$1 is missing: run scripts/bootstrap.sh (apt-get install $2)"; }

# --- PostgreSQL -----------------------------------------------------------------------------

pg_bin() {
  if [ -n "${KARTOTEKA_PG_BIN:-}" ]; then echo "$KARTOTEKA_PG_BIN"; return; fi
  local newest
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1) || true
  [ -n "$newest" ] || die "no PostgreSQL under /usr/lib/postgresql: run scripts/bootstrap.sh (apt-get install postgresql)"
  echo "$newest"
}

postgres_pid() { [ -f "$RUN/data/postmaster.pid" ] && live_pid <(head -n 1 "$RUN/data/postmaster.pid") postgres; return 0; }

postgres_start() {
  local bin port password
  bin=$(pg_bin)
  need "$bin/initdb" postgresql
  password=$(secret)
  port=$(free_ports 1)
  echo "$password" >"$RUN/pwfile"
  own "$RUN/pwfile"
  # --no-sync: a throwaway cluster needs no fsync; the account kartoteka is the superuser.
  (cd "$RUN" && "${as_user[@]}" "$bin/initdb" -D "$RUN/data" -U kartoteka --pwfile="$RUN/pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions) \
    >"$RUN/initdb.log" 2>&1 || { log_tail "$RUN/initdb.log"; die "initdb failed"; }
  rm -f "$RUN/pwfile"
  # Loopback only, the socket in the run directory (not /var/run/postgresql, which belongs to
  # the system cluster); durability off: the tests' data is thrown away with the cluster.
  cat >>"$RUN/data/postgresql.conf" <<EOF

# Written by scripts/services.sh for one test run.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$RUN'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  (cd "$RUN" && timeout "$START_TIMEOUT" "${as_user[@]}" "$bin/pg_ctl" -D "$RUN/data" -l "$RUN/postgres.log" \
      -w -t "$START_TIMEOUT" start) >"$RUN/pg_ctl.log" 2>&1 ||
    { log_tail "$RUN/pg_ctl.log" "$RUN/postgres.log"; die "PostgreSQL did not start"; }
  URL="postgresql+psycopg://kartoteka:$password@127.0.0.1:$port/postgres"
  PORT=$port
}

postgres_stop() {
  local pid
  pid=$(postgres_pid)
  [ -n "$pid" ] || return 0
  # A fast shutdown: open sessions are ended, nothing is waited for.
  (cd "$RUN" && "${as_user[@]}" "$(pg_bin)/pg_ctl" -D "$RUN/data" -m fast -w -t "$STOP_TIMEOUT" stop) \
    >/dev/null 2>&1 || kill_and_wait "$pid"
}

# --- Redis ----------------------------------------------------------------------------------

redis_pid() { live_pid "$RUN/redis.pid" redis-server; }

redis_start() {
  need redis-server redis-server
  need redis-cli redis-tools
  local port password
  password=$(secret)
  port=$(free_ports 1)
  cat >"$RUN/redis.conf" <<EOF
# Written by scripts/services.sh for one test run: loopback only, no snapshots, no append-only
# file (the queues are thrown away with the server).
bind 127.0.0.1
port $port
requirepass $password
save ""
appendonly no
dir $RUN
pidfile $RUN/redis.pid
logfile $RUN/redis.log
EOF
  chmod 600 "$RUN/redis.conf"
  own "$RUN/redis.conf"
  # In the foreground, started in the background: a server that cannot bind its port is seen
  # exiting at once (daemonized, it would exit after its launcher said all was well).
  (cd "$RUN" && exec setsid "${as_user[@]}" redis-server "$RUN/redis.conf") </dev/null >"$RUN/launcher.log" 2>&1 &
  local deadline=$((SECONDS + START_TIMEOUT))
  until REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
    kill -0 $! 2>/dev/null || { log_tail "$RUN/launcher.log" "$RUN/redis.log"; die "redis-server exited while starting"; }
    [ "$SECONDS" -lt "$deadline" ] || { log_tail "$RUN/redis.log"; redis_stop; die "redis-server did not answer within $START_TIMEOUT s"; }
    sleep 0.1
  done
  URL="redis://:$password@127.0.0.1:$port/0"
  PORT=$port
}

redis_stop() {
  local pid
  pid=$(redis_pid)
  [ -z "$pid" ] || kill_and_wait "$pid"
}

# --- RabbitMQ -------------------------------------------------------------------------------

RABBIT_SBIN=/usr/lib/rabbitmq/bin

# The node's environment (for the server and rabbitmqctl alike): everything in the run
# directory, and epmd on a port of its own, so that the node neither meets nor leaves behind the
# machine's shared epmd on 4369, nor a system node's cookie or configuration.
rabbitmq_env() {
  local node amqp dist epmd
  read -r node amqp dist epmd <"$RUN/ports"
  RABBIT_ENV=(
    HOME="$RUN"
    RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp"
    RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_CONF_ENV_FILE="$RUN/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$RUN/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$RUN/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RUN/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$RUN/mnesia" RABBITMQ_LOG_BASE="$RUN/log"
    RABBITMQ_PID_FILE="$RUN/rabbitmq.pid" ERL_CRASH_DUMP="$RUN/erl_crash.dump"
    # Erlang distribution (the node's and rabbitmqctl's) on loopback too, not on every interface.
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
  )
}

rabbitmq_pid() { live_pid "$RUN/rabbitmq.pid" beam; }

rabbitmq_ctl() {  # rabbitmqctl against the node, with its cookie and epmd
  rabbitmq_env
  (cd "$RUN" && "${as_user[@]}" env "${RABBIT_ENV[@]}" "$RABBIT_SBIN/rabbitmqctl" "$@")
}

rabbitmq_start() {
  need "$RABBIT_SBIN/rabbitmq-server" rabbitmq-server
  local password amqp dist epmd
  password=$(secret)
  read -r amqp dist epmd <<<"$(free_ports 3)"
  # A name of its own: nodes of runs side by side never meet anyway (each has its own epmd).
  echo "kartoteka-$(secret | tr -dc 'a-z0-9' | head -c 8)@localhost $amqp $dist $epmd" >"$RUN/ports"
  # The Erlang cookie lets the node and rabbitmqctl talk: random, made for the run, readable
  # by the node's user only, in the HOME the node and rabbitmqctl get.
  secret | tr -d '_-' >"$RUN/.erlang.cookie"
  chmod 400 "$RUN/.erlang.cookie"
  : >"$RUN/rabbitmq-env.conf"  # not /etc/rabbitmq/rabbitmq-env.conf, the system node's
  echo "[]." >"$RUN/enabled_plugins"  # no management plugin: a faster start
  cat >"$RUN/rabbitmq.conf" <<EOF
# Written by scripts/services.sh for one test run.
listeners.tcp.1 = 127.0.0.1:$amqp
default_user = kartoteka
default_pass = $password
log.console = false
log.file.level = info
EOF
  chmod 600 "$RUN/rabbitmq.conf"
  own "$RUN/.erlang.cookie" "$RUN/rabbitmq-env.conf" "$RUN/enabled_plugins" "$RUN/rabbitmq.conf" "$RUN/ports"
  # rabbitmq-server stays in the foreground: started in the background, it is stopped through
  # the pid file the node writes. setsid: a Ctrl-C at the terminal reaches the test run, whose
  # exit trap stops the node, not the node itself halfway.
  rabbitmq_env
  (cd "$RUN" && exec setsid "${as_user[@]}" env "${RABBIT_ENV[@]}" "$RABBIT_SBIN/rabbitmq-server") \
    </dev/null >"$RUN/launcher.log" 2>&1 &
  local deadline=$((SECONDS + START_TIMEOUT))
  # Listening on the AMQP port comes last in the boot; await_startup then confirms it is done.
  until port_open "$amqp"; do
    if ! kill -0 $! 2>/dev/null; then rabbitmq_logs; die "rabbitmq-server exited while starting"; fi
    [ "$SECONDS" -lt "$deadline" ] || { rabbitmq_logs; rabbitmq_stop; die "RabbitMQ did not listen within $START_TIMEOUT s"; }
    sleep 0.2
  done
  rabbitmq_ctl await_startup --timeout "$START_TIMEOUT" >"$RUN/await.log" 2>&1 ||
    { rabbitmq_logs "$RUN/await.log"; rabbitmq_stop; die "RabbitMQ did not finish starting"; }
  URL="amqp://kartoteka:$password@127.0.0.1:$amqp/%2F"
  PORT=$amqp
}

rabbitmq_logs() { log_tail "$RUN/launcher.log" "$@" "$RUN"/log/*.log; }

rabbitmq_stop() {
  local pid epmd
  pid=$(rabbitmq_pid)
  # SIGTERM: the node shuts down cleanly (rabbit_prelaunch_sighandler), as rabbitmqctl stop does.
  [ -z "$pid" ] || kill_and_wait "$pid"
  [ -f "$RUN/ports" ] || return 0
  read -r _ _ _ epmd <"$RUN/ports"
  # The node's own epmd outlives it: it is this run's, so it goes too.
  if port_open "$epmd"; then
    "${as_user[@]}" env ERL_EPMD_PORT="$epmd" epmd -kill >/dev/null 2>&1 || true
  fi
}

# --- commands -------------------------------------------------------------------------------

check_name() {
  case "$NAME" in
    postgres | redis | rabbitmq) RUN=$BASE/$NAME ;;
    *) echo "usage: bash scripts/services.sh start|stop|url postgres|redis|rabbitmq (see the top of this file)" >&2; exit 2 ;;
  esac
}

start() {
  local pid
  pid=$("${NAME}_pid")
  [ -z "$pid" ] || die "already running from $RUN (pid $pid, $(cat "$RUN/url" 2>/dev/null))"
  prepare_run_dir
  local began=$SECONDS
  "${NAME}_start"
  echo "$URL" >"$RUN/url"
  chmod 600 "$RUN/url"
  say "up on 127.0.0.1:$PORT in $((SECONDS - began)) s (run directory $RUN)"
  echo "$URL"
}

stop() {
  [ -d "$RUN" ] || return 0
  use_unprivileged_user
  "${NAME}_stop"
  if [ -f "$RUN/.kartoteka-service" ]; then
    rm -rf "${RUN:?}"
  fi
  # The shared run directory goes with its last server.
  if [ -f "$BASE/.kartoteka-services" ] &&
     [ -z "$(find "$BASE" -mindepth 1 -maxdepth 1 ! -name .kartoteka-services -print -quit)" ]; then
    rm -rf "${BASE:?}"
  fi
}

url() {
  if [ -z "$("${NAME}_pid")" ] || [ ! -s "$RUN/url" ]; then die "no server running from $RUN"; fi
  cat "$RUN/url"
}

case "${1:-}" in
  start | stop | url) check_name; "$1" ;;
  *) NAME=""; check_name ;;
esac
