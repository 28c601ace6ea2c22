# The Kartoteka application image: `kartoteka watch`, `worker`, `serve` (docker-compose.yml).
# Debian 12 like the machines scripts/bootstrap.sh sets up, with what it installs: the Debian
# packages are read from its APT_PACKAGES at build time, so the two cannot drift; only the
# servers of the distributed mode and the browser of the UI tests are left out (they run in
# containers of their own, or not at all). tests/test_compose.py checks both lists.
# Build: docker build -t kartoteka .
FROM debian:bookworm-slim

SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
WORKDIR /opt/kartoteka

# Packages of scripts/bootstrap.sh not in this image (each must be in its list: a rename fails the build).
ARG BOOTSTRAP_SKIP="postgresql redis-server rabbitmq-server chromium"
COPY scripts/bootstrap.sh scripts/bootstrap.sh
RUN eval "$(sed -n '/^APT_PACKAGES=(/,/^)/p' scripts/bootstrap.sh)"; \
    for skip in $BOOTSTRAP_SKIP; do \
      [[ " ${APT_PACKAGES[*]} " == *" $skip "* ]] || { echo "Dockerfile: $skip is not in bootstrap.sh" >&2; exit 1; }; \
    done; \
    want=(); \
    for pkg in "${APT_PACKAGES[@]}"; do [[ " $BOOTSTRAP_SKIP " == *" $pkg "* ]] || want+=("$pkg"); done; \
    apt-get update -qq; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"; \
    rm -rf /var/lib/apt/lists/*

# The Python dependencies as bootstrap.sh installs them (Debian's python3 3.11, a venv, pinned
# by constraints.txt), without the test extras and not editable.
COPY pyproject.toml constraints.txt README.md ./
COPY ingest ingest
COPY ocr ocr
COPY classify classify
COPY archive archive
COPY search search
COPY app app
COPY workers workers
RUN python3 -m venv .venv; \
    .venv/bin/python -m pip install -q --no-cache-dir --disable-pip-version-check -U pip; \
    .venv/bin/python -m pip install -q --no-cache-dir --disable-pip-version-check -c constraints.txt .; \
    rm -rf ingest ocr classify archive search app workers build

# No root at run time; data and hot folders are volumes (docker-compose.yml).
RUN useradd --system --user-group --home-dir /var/lib/kartoteka kartoteka; \
    mkdir -p /var/lib/kartoteka /srv/inbox; \
    chown kartoteka:kartoteka /var/lib/kartoteka /srv/inbox
USER kartoteka
ENV PATH=/opt/kartoteka/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KARTOTEKA_DATA_DIR=/var/lib/kartoteka \
    KARTOTEKA_INBOX=/srv/inbox \
    KARTOTEKA_HTTP_HOST=0.0.0.0 \
    KARTOTEKA_HTTP_PORT=8000
VOLUME ["/var/lib/kartoteka"]
EXPOSE 8000

ENTRYPOINT ["kartoteka"]
CMD ["--help"]
