#!/usr/bin/env bash
# Install what Kartoteka needs on Debian 12, idempotently: the system packages (as root, or
# through sudo) and a virtual environment in .venv/ with the pinned Python dependencies (among
# them the PostgreSQL, Redis and RabbitMQ clients: the distributed mode is part of the product).
# Quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  tesseract-ocr tesseract-ocr-rus tesseract-ocr-kaz tesseract-ocr-eng tesseract-ocr-osd
  poppler-utils fonts-dejavu-core python3-venv
  # The servers of the distributed mode (catalog, broker). scripts/test.sh starts private ones
  # (scripts/services.sh) on ports of their own: the system services these packages may start
  # on a machine with an init system are neither needed nor touched.
  postgresql redis-server rabbitmq-server
  # The web UI's tests drive a headless browser.
  chromium
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root to install: ${missing[*]}" >&2; exit 3; }
    sudo="sudo"
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python 3.11 or newer: Debian 12's python3 is 3.11.
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$(command -v "$candidate"); break
  fi
done
[ -n "$PY" ] || { echo "bootstrap: Python 3.11 or newer is required" >&2; exit 3; }

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi

# Reinstall only when the dependency pins change.
stamp=.venv/.kartoteka-deps
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python dependencies (pinned by constraints.txt)" >&2
  log=$(mktemp)
  if ! { .venv/bin/python -m pip install -q --disable-pip-version-check -U pip &&
         .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; echo "bootstrap: pip install failed" >&2; exit 3
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi
