"""Screenshots of the UI for the README: the browser tests save them where ``KARTOTEKA_SCREENSHOTS``
points (a directory; nothing is saved when it is unset).

    KARTOTEKA_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest tests/web -k browser
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

SCREENSHOTS_ENV = "KARTOTEKA_SCREENSHOTS"


def save_screenshot(page: Any, name: str) -> Path | None:
    """Save what ``page`` shows (its 1280×800 viewport) as ``<dir>/<name>.png``; the path, or None."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return None
    target = Path(folder) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    return target
