#!/usr/bin/env bash
# Run the test suite against the real parts (Tesseract and its language packs, Elasticsearch),
# installing whatever is missing first. Extra arguments go to pytest, e.g. scripts/test.sh -k ocr -x
# Unless KARTOTEKA_TEST_ELASTIC_URL already names a node, a local Elasticsearch node is started
# for the run (scripts/elasticsearch.sh: downloaded once and cached, needs a JDK 21+) and stopped
# afterwards; the run fails if it cannot start. The exit status is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -z "${KARTOTEKA_TEST_ELASTIC_URL:-}" ]; then
  # A run directory of its own, so that test runs side by side get a node each.
  KARTOTEKA_ES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kartoteka-es.XXXXXX")
  export KARTOTEKA_ES_DIR
  trap 'bash scripts/elasticsearch.sh stop' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  KARTOTEKA_TEST_ELASTIC_URL=$(bash scripts/elasticsearch.sh start) ||
    { echo "test: could not start Elasticsearch (see above); KARTOTEKA_TEST_ELASTIC_URL names an existing node instead" >&2; exit 3; }
  export KARTOTEKA_TEST_ELASTIC_URL
fi
echo "test: Elasticsearch at $KARTOTEKA_TEST_ELASTIC_URL" >&2
status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
