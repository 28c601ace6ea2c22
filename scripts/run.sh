#!/usr/bin/env bash
# The main job. Installs what is missing, then recognises the bundled sample scan (a skewed
# Russian memo and a sideways English order) and writes its searchable PDF next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/kartoteka ocr examples/sample-scan.pdf --pdf examples/sample-scan.searchable.pdf "$@"
