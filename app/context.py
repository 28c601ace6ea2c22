"""What is being worked on, for log lines: a ContextVar the pipeline sets and the log formatter
of the running process (workers/logs.py) reads."""

from __future__ import annotations

import contextvars

__all__ = ["current_item"]

#: The file or card being processed, added to every line logged while it is set.
current_item: contextvars.ContextVar[str] = contextvars.ContextVar("current_item", default="")
