"""schemathesis over the published schema (``/api/v1/openapi.json``) against a running server:
every operation, a few hundred generated requests with an administrator's token; no server
errors, every response valid against the schema (status, content type, headers, body).

Run in two passes so the stateful phase cannot revoke the very token it runs with (it would
link ``GET /tokens`` to ``DELETE /tokens/{id_or_name}``): examples, coverage and fuzzing over
every operation, then the stateful phase (following the schema's links: card → correction with
its ETag, token created → revoked) without listing tokens.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import MakeApi, Running

ST = Path(sys.executable).parent / "schemathesis"
#: Statuses a schema-valid request may still get where the schema cannot say what is valid:
#: opaque cursors (400), card versions in If-Match (412, 428), configured kinds (422), file
#: names and profiles of uploads (422), inputs that are not quarantined (422).
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "429"]

[[operations]]
include-path-regex = "^/api/v1/(cards|ledger|batches|changes|search)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]

[[operations]]
include-name = "PATCH /api/v1/cards/{{id_or_number}}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "412", "422", "428", "429"]

[[operations]]
include-name = "POST /api/v1/cards/{{id_or_number}}/accept"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "412", "422", "429"]

[[operations]]
include-name = "POST /api/v1/inputs/{{input_id}}/retry"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

[[operations]]
include-name = "POST /api/v1/uploads"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "413", "422", "429"]

[[operations]]
include-name = "GET /api/v1/cards/{{id_or_number}}"
parameters = {{ id_or_number = "{card}" }}

[[operations]]
include-name = "GET /api/v1/batches/{{batch_id}}"
parameters = {{ batch_id = "{batch}" }}
"""


def _schemathesis(api: Running, where: Path, *args: str) -> None:
    ledger = api.archive.cli("ledger", "--limit", "1")["files"][0]
    config = where / "schemathesis.toml"
    config.write_text(CONFIG.format(card=ledger["card"], batch=ledger["batch"]), encoding="utf-8")
    run = subprocess.run(
        [str(ST), "--config-file", str(config), "run", f"{api.url}/api/v1/openapi.json",
         "-H", f"Authorization: Bearer {api.archive.tokens['admin']}", "--checks", "all",
         "--seed", "20260101", "--workers", "1", "--request-timeout", "60", *args],
        cwd=where, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]


@pytest.mark.slow
def test_every_operation_answers_generated_requests_as_the_schema_says(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api()
    _schemathesis(api, tmp_path, "--phases", "examples,coverage,fuzzing", "--max-examples", "25")
    _schemathesis(api, tmp_path, "--phases", "stateful", "--max-examples", "10",
                  "--exclude-name", "GET /api/v1/tokens")  # fmt: skip
