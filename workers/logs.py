"""Logging set-up for the processes we run: text for people, JSON lines for log collectors.

Library code only calls ``logging.getLogger(__name__)``; this is the one place that configures.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from app.context import current_item


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        item = current_item.get()
        if item:
            out["item"] = item
        request = getattr(record, "request", None)  # the API's per-request fields (extra=)
        if isinstance(request, dict):
            out["request"] = request
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        item = current_item.get()
        return f"{line} [{item}]" if item else line


def configure(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Elasticsearch client logs every failed connection attempt with its traceback; our
    # own one-line error says what failed. Its details stay visible with -v (DEBUG).
    logging.getLogger("elastic_transport").setLevel(level if level == "DEBUG" else "ERROR")
    # pika (RabbitMQ) logs a dozen lines and a traceback for every connection that fails and a
    # warning for every queue it looks up that is not there; we say what failed in one line.
    logging.getLogger("pika").setLevel(level if level == "DEBUG" else "CRITICAL")
