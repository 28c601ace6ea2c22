#!/usr/bin/env bash
# A throwaway local Elasticsearch node for the tests (scripts/test.sh starts and stops one).
#
#   bash scripts/elasticsearch.sh start   fetch the distribution if needed, start a node on
#                                         127.0.0.1, wait for cluster health yellow/green and
#                                         print its URL (the only thing on stdout)
#   bash scripts/elasticsearch.sh url     print the URL of the node started in the run directory
#   bash scripts/elasticsearch.sh stop    stop that node and delete its run directory
#   bash scripts/elasticsearch.sh fetch   only download, verify and unpack the distribution
#
# The distribution is Elasticsearch's integ-test-zip from Maven Central
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip), checked against
# the SHA-512 pinned below and unpacked once into the cache. It is the bare server with only the
# transport-netty4, x-pack-core, x-pack-security and apm modules, which limits what tests can use:
#   - analysis: the analyzers standard, simple, whitespace, stop and keyword; in custom analyzers
#     only the standard tokenizer and the lowercase and stop filters (no analysis-common: no
#     whitespace/keyword tokenizer, no language analyzers or stemmers, no asciifolding, no ICU);
#   - no painless (scripted updates), no reindex (_delete_by_query, _update_by_query, _reindex),
#     no ingest processors, no mapper-extras (match_only_text, scaled_float, ...), no wildcard;
#   - no rest-root: GET / answers 405, so the Python client's ping() is False and info() raises;
#     check a node with GET /_cluster/health instead.
# The node: single-node discovery, security off, disk watermarks off, a small heap, its
# config/data/logs in the run directory. Elasticsearch refuses to run as root: as root the node
# runs as the system user kartoteka-es (created if missing).
#
# Environment:
#   KARTOTEKA_ES_DIR        run directory: config, data, logs, pid and URL of one node; created
#                           if missing, an empty one is adopted; `stop` deletes it
#                           (default ${TMPDIR:-/tmp}/kartoteka-elasticsearch)
#   KARTOTEKA_ES_PORT       HTTP port; default: the first free one in 9200-9299
#   KARTOTEKA_ES_HEAP       JVM heap (default 512m)
#   KARTOTEKA_CACHE_DIR     download cache (default /var/cache/kartoteka as root, else
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/kartoteka; the node's user must read it)
#   KARTOTEKA_MAVEN_REPO    Maven repository base URL (default https://repo1.maven.org/maven2)
#   ES_JAVA_HOME            JDK 21 or newer; default: the newest one under /usr/lib/jvm
#                           (the integ-test-zip bundles no JDK)
set -euo pipefail
cd "$(dirname "$0")/.."

# The one place the version is pinned. Same major as the Python client in constraints.txt.
# Maven Central publishes no .sha1/.sha512 for the 9.x integ-test-zips (it does for 8.x), so
# the digest of the zip as first fetched is pinned here; one served next to it is checked too.
ES_VERSION=9.5.4
ES_SHA512=a75df614854ace52dd0bce977662b3792873ac077ec0af9026cd0b2a0eb119e449910f8eb8ed577d1a83c51c6ee6af71bf5004c3cf5b418c979186de8b5dd9e6
ES_MIN_JAVA=21

ES_USER=kartoteka-es
MAVEN_REPO=${KARTOTEKA_MAVEN_REPO:-https://repo1.maven.org/maven2}
ZIP_URL=$MAVEN_REPO/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip
if [ -n "${KARTOTEKA_CACHE_DIR:-}" ]; then
  CACHE=$KARTOTEKA_CACHE_DIR
elif [ "$(id -u)" = 0 ]; then
  CACHE=/var/cache/kartoteka  # /root is not readable by the node's user
else
  CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kartoteka
fi
ES_HOME=$CACHE/elasticsearch-$ES_VERSION
RUN_DIR=${KARTOTEKA_ES_DIR:-${TMPDIR:-/tmp}/kartoteka-elasticsearch}
HEAP=${KARTOTEKA_ES_HEAP:-512m}
START_TIMEOUT=120

say() { echo "elasticsearch: $*" >&2; }
die() { say "$*"; exit 3; }

need_packages() {  # apt-get install what is missing, quietly, as bootstrap.sh does
  local missing=() pkg sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root to install: ${missing[*]}"
    sudo="sudo"
  fi
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

fetch() {
  [ -f "$ES_HOME/.kartoteka-complete" ] && return 0
  need_packages curl unzip ca-certificates
  mkdir -p "$CACHE"
  chmod 755 "$CACHE"
  # One download at a time when several test runs start together.
  exec 8>"$CACHE/.elasticsearch-$ES_VERSION.lock"
  flock 8
  if [ ! -f "$ES_HOME/.kartoteka-complete" ]; then
    local zip=$CACHE/elasticsearch-$ES_VERSION.zip
    if [ ! -f "$zip" ] || ! echo "$ES_SHA512  $zip" | sha512sum -c --status; then
      say "downloading Elasticsearch $ES_VERSION (integ-test-zip, $ZIP_URL)"
      curl -fsSL --retry 3 --connect-timeout 30 -o "$zip.part" "$ZIP_URL" ||
        { rm -f "$zip.part"; die "download failed: $ZIP_URL"; }
      echo "$ES_SHA512  $zip.part" | sha512sum -c --status ||
        { rm -f "$zip.part"; die "$ZIP_URL does not match the pinned SHA-512"; }
      local served
      for ext in sha512 sha1; do
        if served=$(curl -fsSL --retry 2 "$ZIP_URL.$ext" 2>/dev/null); then
          echo "${served%% *}  $zip.part" | "${ext}sum" -c --status ||
            { rm -f "$zip.part"; die "$ZIP_URL does not match its .$ext"; }
        fi
      done
      mv "$zip.part" "$zip"
    fi
    local tmp
    tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX")
    unzip -q "$zip" -d "$tmp" || { rm -rf "$tmp"; die "cannot unpack $zip"; }
    [ -x "$tmp/elasticsearch-$ES_VERSION/bin/elasticsearch" ] || { rm -rf "$tmp"; die "unexpected layout in $zip"; }
    chmod -R a+rX,go-w "$tmp/elasticsearch-$ES_VERSION"
    rm -rf "$ES_HOME"
    mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
    rmdir "$tmp"
    touch "$ES_HOME/.kartoteka-complete"
  fi
  exec 8>&-
}

java_major() {  # the feature version of the JDK at $1, or nothing
  local v=""
  [ -x "$1/bin/java" ] || return 0
  if [ -f "$1/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release")
  fi
  [ -n "$v" ] || v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 |
                     sed -n 's/^ *java\.specification\.version = //p')
  v=${v#1.}
  echo "${v%%[.+-]*}"
}

find_java() {
  local jdk major best="" best_major=0
  if [ -n "${ES_JAVA_HOME:-}" ]; then
    major=$(java_major "$ES_JAVA_HOME")
    [ -n "$major" ] && [ "$major" -ge "$ES_MIN_JAVA" ] ||
      die "ES_JAVA_HOME=$ES_JAVA_HOME is not a JDK $ES_MIN_JAVA or newer (Elasticsearch $ES_VERSION needs one)"
    echo "$ES_JAVA_HOME"; return
  fi
  for jdk in /usr/lib/jvm/*/; do
    jdk=${jdk%/}
    [ -L "$jdk" ] && continue  # aliases such as /usr/lib/jvm/default-java
    major=$(java_major "$jdk")
    if [ -n "$major" ] && [ "$major" -ge "$ES_MIN_JAVA" ] && [ "$major" -gt "$best_major" ]; then
      best=$jdk; best_major=$major
    fi
  done
  [ -n "$best" ] ||
    die "Elasticsearch $ES_VERSION needs a JDK $ES_MIN_JAVA or newer: none under /usr/lib/jvm; install one there or set ES_JAVA_HOME"
  echo "$best"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

node_pid() {  # the pid of the node running from RUN_DIR, or nothing
  local pid
  pid=$(cat "$RUN_DIR/elasticsearch.pid" 2>/dev/null) || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "org.elasticsearch" && echo "$pid"
  return 0
}

log_tail() {
  local f
  for f in "$RUN_DIR/launcher.log" "$RUN_DIR/logs/kartoteka-test.log"; do
    [ -s "$f" ] && { say "--- tail of $f"; tail -n 40 "$f" >&2; }
  done
  return 0
}

kill_node() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "node $pid ignored SIGTERM for 30 s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  local pid
  pid=$(node_pid)
  [ -z "$pid" ] || die "a node is already running from $RUN_DIR (pid $pid, $(cat "$RUN_DIR/url" 2>/dev/null))"
  if [ -d "$RUN_DIR" ] && [ ! -f "$RUN_DIR/.kartoteka-es" ] && [ -n "$(ls -A "$RUN_DIR")" ]; then
    die "$RUN_DIR is neither empty nor a previous node's run directory; set KARTOTEKA_ES_DIR"
  fi
  # Marked first, so that `stop` cleans up after a start that failed at any step.
  mkdir -p "$RUN_DIR"
  touch "$RUN_DIR/.kartoteka-es"
  local java
  java=$(find_java)
  fetch

  local http_port="9200-9299"
  if [ -n "${KARTOTEKA_ES_PORT:-}" ]; then
    [[ "$KARTOTEKA_ES_PORT" =~ ^[0-9]+$ ]] || die "KARTOTEKA_ES_PORT=$KARTOTEKA_ES_PORT is not a port"
    port_busy "$KARTOTEKA_ES_PORT" && die "port $KARTOTEKA_ES_PORT on 127.0.0.1 is already in use (KARTOTEKA_ES_PORT)"
    http_port=$KARTOTEKA_ES_PORT
  fi

  # A fresh run directory: remnants of a node that died are dropped.
  rm -rf "${RUN_DIR:?}/config" "$RUN_DIR/data" "$RUN_DIR/logs" "$RUN_DIR/tmp" \
         "$RUN_DIR/url" "$RUN_DIR/elasticsearch.pid" "$RUN_DIR/launcher.log"
  mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs" "$RUN_DIR/tmp"
  cp -r "$ES_HOME/config" "$RUN_DIR/config"
  cat >"$RUN_DIR/config/elasticsearch.yml" <<EOF
# Written by scripts/elasticsearch.sh for one test run.
cluster.name: kartoteka-test
node.name: kartoteka-test
path.data: $RUN_DIR/data
path.logs: $RUN_DIR/logs
network.host: 127.0.0.1
http.port: $http_port
transport.port: 9300-9399
discovery.type: single-node
# Writes logs/http.ports with the port actually bound.
node.portsfile: true
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF

  local -a as_user=()
  if [ "$(id -u)" = 0 ]; then
    if ! getent passwd "$ES_USER" >/dev/null; then
      say "creating the system user $ES_USER (Elasticsearch refuses to run as root)"
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
              --shell /usr/sbin/nologin "$ES_USER"
    fi
    chown -R "$ES_USER:$ES_USER" "$RUN_DIR"
    runuser -u "$ES_USER" -- test -r "$ES_HOME/lib/elasticsearch-$ES_VERSION.jar" ||
      die "user $ES_USER cannot read $ES_HOME (KARTOTEKA_CACHE_DIR must be readable by it)"
    as_user=(runuser -u "$ES_USER" --)
  fi

  say "starting Elasticsearch $ES_VERSION with $java in $RUN_DIR"
  local status=0
  (cd "$RUN_DIR/logs" &&
   timeout "$START_TIMEOUT" "${as_user[@]}" env HOME="$RUN_DIR" ES_JAVA_HOME="$java" \
       ES_PATH_CONF="$RUN_DIR/config" ES_TMPDIR="$RUN_DIR/tmp" \
       ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP ${ES_JAVA_OPTS:-}" \
       "$ES_HOME/bin/elasticsearch" -d -p "$RUN_DIR/elasticsearch.pid") \
    </dev/null >"$RUN_DIR/launcher.log" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    pid=$(node_pid); [ -z "$pid" ] || kill_node "$pid"
    log_tail
    die "Elasticsearch did not start (exit $status)"
  fi

  local port="" url health="" deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    pid=$(node_pid)
    [ -n "$pid" ] || { log_tail; die "Elasticsearch exited while starting"; }
    if [ -z "$port" ] && [ -s "$RUN_DIR/logs/http.ports" ]; then
      port=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' "$RUN_DIR/logs/http.ports" | head -n 1)
    fi
    if [ -n "$port" ]; then
      url=http://127.0.0.1:$port
      health=$(curl -fsS --max-time 5 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null |
               grep -o '"status":"[a-z]*"' || true)
      [[ "$health" == *green* || "$health" == *yellow* ]] && break
    fi
    sleep 0.5
  done
  if [[ "$health" != *green* && "$health" != *yellow* ]]; then
    pid=$(node_pid); [ -z "$pid" ] || kill_node "$pid"
    log_tail
    die "Elasticsearch was not healthy within ${START_TIMEOUT} s (${health:-no answer})"
  fi
  echo "$url" >"$RUN_DIR/url"
  say "up at $url (pid $pid)"
  echo "$url"
}

stop() {
  local pid
  pid=$(node_pid)
  [ -z "$pid" ] || kill_node "$pid"
  # Delete only what start made (the marker), never an arbitrary KARTOTEKA_ES_DIR.
  if [ -f "$RUN_DIR/.kartoteka-es" ]; then
    rm -rf "${RUN_DIR:?}"
  fi
}

url() {
  [ -n "$(node_pid)" ] && [ -s "$RUN_DIR/url" ] || die "no node running from $RUN_DIR"
  cat "$RUN_DIR/url"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  fetch) fetch ;;
  *) echo "usage: bash scripts/elasticsearch.sh start|stop|url|fetch (see the top of this file)" >&2; exit 2 ;;
esac
