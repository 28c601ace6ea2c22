#!/usr/bin/env bash
# Run the test suite against the real parts (Tesseract and its language packs), installing
# whatever is missing first. Extra arguments go to pytest, e.g. scripts/test.sh -k ocr -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
