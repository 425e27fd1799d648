"""Where an import's time goes: per SQL statement, the wall time, this process's CPU and
the PostgreSQL backend's CPU (read with psutil, so the server must run on this machine),
taken from SQLAlchemy's cursor events, so nothing in the importer changes. What runs
between two statements (the ``COPY`` batches, with the parsing of the file overlapping
them) is one phase of its own, named after the statements around it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process (0 when it cannot be read)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@dataclass
class Phase:
    name: str
    wall: float = 0.0
    client: float = 0.0
    server: float = 0.0


@dataclass
class PhaseLog:
    phases: list[Phase] = field(default_factory=list)
    _mark: tuple[float, float, float] | None = None
    _pid: int = 0
    _last: str = "start"

    def _now(self) -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), backend_cpu(self._pid)

    def _close(self, name: str) -> None:
        now = self._now()
        if self._mark is not None:
            wall, client, server = (b - a for a, b in zip(self._mark, now, strict=True))
            for phase in self.phases:
                if phase.name == name:  # a repeated statement adds up
                    phase.wall += wall
                    phase.client += client
                    phase.server += server
                    break
            else:
                self.phases.append(Phase(name, wall, client, server))
        self._mark = now

    def mark(self) -> None:
        self._mark = self._now()

    def before(self, pid: int, statement: str) -> None:
        if pid != self._pid:  # another connection (the statistics refresh)
            self._close("open the file, plan the columns" if not self._pid else "commit")
            self._pid = pid
            self._mark = self._now()
            return
        label = _label(statement)
        if self._last == "create import_rows":
            self._close("COPY into import_rows (the file parsed meanwhile)")
        elif self._last == "touch list":  # the statistics refresh reuses the connection
            self._close("commit")
        else:
            self._close(f"between {self._last} and {label}")

    def after(self, statement: str) -> None:
        self._last = _label(statement)
        self._close(self._last)

    def finish(self) -> None:
        self._close("commit, report" if self._last == "touch list" else "report")

    def lines(self) -> Iterator[str]:
        total = Phase("total")
        for phase in self.phases:
            total.wall += phase.wall
            total.client += phase.client
            total.server += phase.server
        for phase in [*self.phases, total]:
            if phase.wall < 0.005 and phase is not total:
                continue
            yield (
                f"    {phase.name[:58]:58} {phase.wall:6.2f} s  "
                f"client {phase.client:5.2f}  server {phase.server:5.2f}"
            )
        # What a loaded machine's walls hide: the CPU the import waits for, one side at a
        # time (client and server overlap only within a phase).
        path = sum(max(phase.client, phase.server) for phase in self.phases)
        yield f"    CPU on the critical path (per phase, the larger side): {path:.2f} s"


_WORDS = re.compile(r"[A-Za-z_]+")
_KNOWN = [
    ("CREATE TEMP TABLE import_unique", "lookup (DISTINCT ON, joins)"),
    ("CREATE TEMP TABLE import_rows", "create import_rows"),
    ("CREATE TEMP TABLE import_batch", "create import_batch"),
    ("ANALYZE import_rows", "ANALYZE import_rows"),
    ("ANALYZE import_unique", "ANALYZE import_unique"),
    ("UPDATE list_members SET gone_at = NULL", "mark_gone (clear)"),
    ("UPDATE list_members SET gone_at = CURRENT_TIMESTAMP", "mark_gone (mark)"),
    ("FROM list_members WHERE list_id", "mark_gone (count)"),
    ("UPDATE addresses a SET attributes", "attribute UPDATE"),
    ("WITH new AS", "insert addresses + members"),
    ("INSERT INTO list_members (list_id, address_id)\n        SELECT", "members of known"),
    ("WITH per_kind", "counts (the report's, list_counts)"),
    ("INSERT INTO list_counts", "list_counts"),
    ("count(*) FILTER", "counts"),
    ("UPDATE recipient_lists", "touch list"),
    ("FOR UPDATE", "lock list"),
    ("ANALYZE addresses", "ANALYZE addresses"),
    ("ANALYZE list_members", "ANALYZE list_members"),
    ("SELECT reltuples", "reltuples"),
]


def _label(statement: str) -> str:
    flat = " ".join(statement.split())
    for needle, label in _KNOWN:
        if " ".join(needle.split()) in flat:
            return label
    return " ".join(_WORDS.findall(flat)[:4])


@contextmanager
def traced(engine: AsyncEngine) -> Iterator[PhaseLog]:
    """Every statement ``engine`` runs meanwhile, as phases."""
    log = PhaseLog()
    log.mark()
    sync = engine.sync_engine

    def pid_of(conn: Any) -> int:
        return int(conn.connection.driver_connection.get_server_pid())

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        log.before(pid_of(conn), statement)

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        log.after(statement)

    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    try:
        yield log
    finally:
        log.finish()
        event.remove(sync, "before_cursor_execute", before)
        event.remove(sync, "after_cursor_execute", after)
