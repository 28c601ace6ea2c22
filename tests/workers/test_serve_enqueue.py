"""`kartoteka serve` hands uploaded files to the broker; a broker that is away does not fail
the upload: the file is recorded pending already and the recovery sweep of `watch` sends it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.services import Services
from app.settings import Settings
from workers.serve_command import _enqueue


def test_a_send_the_broker_refuses_is_a_warning_not_a_failed_upload(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The upload was a 500 (dramatiq's ConnectionClosed) though the file was kept: a client
    that sent it again made a duplicate."""
    settings = Settings(data_dir=tmp_path / "data", broker_url="redis://:pw@127.0.0.1:9/0")  # nothing listens on 9
    services = Services(settings)
    try:
        enqueue = _enqueue(settings, services)
        assert enqueue is not None
        enqueue("input-1")  # no exception
    finally:
        services.close()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING and "input-1" in r.getMessage()]
    assert "the recovery sweep sends it" in warning.getMessage() and warning.exc_info is None


def test_an_uploaded_file_is_sent_with_its_uploads_size(tmp_path: Path) -> None:
    """Every file of a multi-file upload went with a single file's (urgent) priority."""
    from workers.broker import PRIORITY_BATCH, PRIORITY_URGENT, priority_for
    from workers.serve_command import _batch_size

    services = Services(Settings(data_dir=tmp_path / "data"))
    try:
        catalog = services.catalog
        many = catalog.open_batch("api:default", "upload-1")
        rows = [catalog.record_input(many, f"api:default/upload-1/{n}.png", f"{n}.png", f"{n:064x}", 1) for n in range(3)]
        single = catalog.open_batch("api:default", "upload-2")
        alone = catalog.record_input(single, "api:default/upload-2/x.png", "x.png", "f" * 64, 1)
        assert [_batch_size(services, r.id) for r in rows] == [3, 3, 3] and _batch_size(services, alone.id) == 1
        assert (priority_for(3), priority_for(1)) == (PRIORITY_BATCH, PRIORITY_URGENT)
    finally:
        services.close()
