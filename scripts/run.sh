#!/usr/bin/env bash
# The main job: the embedded service. Installs what is missing, then watches ./inbox (or
# $KARTOTEKA_INBOX), recognises and archives what is dropped there, data in ./data (or
# $KARTOTEKA_DATA_DIR). Stop it with Ctrl-C; a hard kill loses nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export KARTOTEKA_DATA_DIR="${KARTOTEKA_DATA_DIR:-$PWD/data}"
export KARTOTEKA_INBOX="${KARTOTEKA_INBOX:-$PWD/inbox}"
mkdir -p "$KARTOTEKA_INBOX"
echo "kartoteka: drop scans into $KARTOTEKA_INBOX (try: cp examples/sample-scan.pdf $KARTOTEKA_INBOX/)" >&2
exec .venv/bin/kartoteka run "$@"
