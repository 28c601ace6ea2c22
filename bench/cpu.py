"""CPU seconds by role over a window, read from ``/proc``: where a benchmark's cores went.

A process's ``utime + stime`` counts only while it lives, so a sampler thread re-reads every
process twice a second and keeps the last value it saw: a process that starts and ends inside
the window is counted up to its last sample (at most half a second of it is missed). Roles: the
process trees of the given root pids (by name), then servers by their command name, then this
process, then everything else ("other": the rest of a shared machine).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["CpuMeter", "SERVER_NAMES"]

TICK = os.sysconf("SC_CLK_TCK")
#: command name (``/proc/PID/comm``) -> role, for the servers the benchmarks run beside
SERVER_NAMES = {"java": "Elasticsearch", "postgres": "PostgreSQL", "redis-server": "Redis", "beam.smp": "RabbitMQ"}


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command name, CPU ticks) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[1]), name, int(rest[11]) + int(rest[12])


def _snapshot() -> dict[int, tuple[int, str, int]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


class CpuMeter:
    """``with CpuMeter({"watch": pid, ...}) as m: ...`` then ``m.seconds`` (role -> CPU seconds)."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        self.roots = {pid: role for role, pid in roots.items()}
        self.interval = interval
        self.seconds: dict[str, float] = {}
        self._first: dict[int, int] = {}
        self._last: dict[int, tuple[int, str, int]] = {}
        self._role: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        snap = _snapshot()
        baseline = not self._last
        for pid in sorted(snap):  # parents before children, mostly: a child takes its parent's role
            ppid, name, ticks = snap[pid]
            if pid not in self._first:
                self._first[pid] = ticks if baseline else 0  # born in the window: all its ticks count
            self._last[pid] = snap[pid]
            if pid not in self._role or pid in self.roots:
                self._role[pid] = (
                    self.roots.get(pid)
                    or SERVER_NAMES.get(name)
                    or ("benchmark" if pid == os.getpid() else None)
                    or self._role.get(ppid)
                    or "other"
                )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample()  # the baseline: every process's ticks so far are not this window's
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        for pid, (_ppid, _name, ticks) in self._last.items():
            role = self._role.get(pid, "other")
            self.seconds[role] = self.seconds.get(role, 0.0) + (ticks - self._first.get(pid, 0)) / TICK

    def table(self, wall: float) -> str:
        """``role 12.3 s (0.45 cores)`` for every role with a tenth of a second or more."""
        parts = [f"{role} {s:.1f} s ({s / wall:.2f} cores)" for role, s in sorted(self.seconds.items(), key=lambda kv: -kv[1]) if s >= 0.1]
        return ", ".join(parts)
