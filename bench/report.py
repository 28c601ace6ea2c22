"""Printing a benchmark's Markdown report and keeping a copy under bench/results/."""

from __future__ import annotations

from pathlib import Path


def publish(lines: list[str], out: Path) -> str:
    report = "\n".join(lines) + "\n"
    print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    return report
