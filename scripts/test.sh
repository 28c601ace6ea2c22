#!/usr/bin/env bash
# Run the test suite against the real parts (Tesseract and its language packs, Elasticsearch,
# PostgreSQL, Redis, RabbitMQ), installing whatever is missing first. Extra arguments go to
# pytest, e.g. scripts/test.sh -k ocr -x
#
# Each server is started for the run unless its variable already names one ("use that server"):
#   KARTOTEKA_TEST_ELASTIC_URL   Elasticsearch (scripts/elasticsearch.sh: downloaded once and
#                                cached, needs a JDK 21+)
#   KARTOTEKA_TEST_POSTGRES_URL  PostgreSQL, an account that may create databases
#   KARTOTEKA_TEST_REDIS_URL     Redis
#   KARTOTEKA_TEST_AMQP_URL      RabbitMQ
# (the last three: scripts/services.sh, from Debian's packages). They start side by side, each on
# 127.0.0.1 and a free port, as an unprivileged user, with everything in one temporary directory,
# and all are stopped when the run ends, however it ends. A server that cannot start fails the
# run with exit status 3: the tests that need it are never skipped. Otherwise the exit status is
# pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every real part is installed and started below: a test that skips here fails (tests/conftest.py).
export KARTOTEKA_TEST_REQUIRE_ALL=1
bash scripts/bootstrap.sh

# Started in this order (the slowest first) and waited for in the reverse one, RabbitMQ last.
SERVICES=(rabbitmq elasticsearch postgres redis)
declare -A VAR=([elasticsearch]=KARTOTEKA_TEST_ELASTIC_URL [postgres]=KARTOTEKA_TEST_POSTGRES_URL
                [redis]=KARTOTEKA_TEST_REDIS_URL [rabbitmq]=KARTOTEKA_TEST_AMQP_URL)
declare -A LABEL=([elasticsearch]=Elasticsearch [postgres]=PostgreSQL [redis]=Redis [rabbitmq]=RabbitMQ)
declare -A STARTER=()  # name -> pid of its `start`, for the servers this run starts

control() {  # start|stop NAME
  if [ "$2" = elasticsearch ]; then bash scripts/elasticsearch.sh "$1"; else bash scripts/services.sh "$1" "$2"; fi
}

RUN_DIR=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local name
  [ -n "$RUN_DIR" ] || return 0
  # A start still going on (a signal came) is let finish, so that its stop finds the server;
  # each start gives up by itself within its time limit.
  for name in "${!STARTER[@]}"; do wait "${STARTER[$name]}" 2>/dev/null || true; done
  for name in "${!STARTER[@]}"; do control stop "$name" || echo "test: could not stop ${LABEL[$name]}" >&2; done
  rm -rf "$RUN_DIR"
}

for name in "${SERVICES[@]}"; do
  [ -z "${!VAR[$name]:-}" ] || continue
  if [ -z "$RUN_DIR" ]; then
    # One run directory of its own, so that test runs side by side get servers each; the
    # servers' unprivileged users must pass through it to their own subdirectories.
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kartoteka-test.XXXXXX")
    chmod 711 "$RUN_DIR"
    export KARTOTEKA_ES_DIR=$RUN_DIR/elasticsearch KARTOTEKA_SERVICES_DIR=$RUN_DIR/services
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
  # In the background, side by side: the run waits for the slowest, not for their sum. Each
  # start prints only its URL on stdout, and its progress on stderr.
  (began=$SECONDS
   control start "$name" >"$RUN_DIR/$name.url"
   echo $((SECONDS - began)) >"$RUN_DIR/$name.seconds") &
  STARTER[$name]=$!
done

failed=()
waited_from=$SECONDS
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  name=${SERVICES[$i]}
  if [ -n "${STARTER[$name]:-}" ]; then
    if wait "${STARTER[$name]}" && [ -s "$RUN_DIR/$name.url" ]; then
      export "${VAR[$name]}=$(cat "$RUN_DIR/$name.url")"
      echo "test: ${LABEL[$name]} started in $(cat "$RUN_DIR/$name.seconds") s" >&2
    else
      failed+=("$name")
    fi
  else
    echo "test: ${LABEL[$name]} from ${VAR[$name]}" >&2
  fi
done
((${#STARTER[@]} == 0)) || echo "test: servers ready $((SECONDS - waited_from)) s after bootstrap" >&2
if ((${#failed[@]})); then
  for name in "${failed[@]}"; do
    echo "test: could not start ${LABEL[$name]} (see above); ${VAR[$name]} names an existing server instead" >&2
  done
  exit 3
fi
status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
