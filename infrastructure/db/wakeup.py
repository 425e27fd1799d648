"""``PgWorkSignal``: idle workers wake on PostgreSQL's ``NOTIFY mailforge_work``.

A trigger (migration 0008) notifies whenever a run is written as running, and the queue
notifies when it hands lost deliveries back; both go out at commit. One dedicated asyncpg
connection per process ``LISTEN``s (a pooled connection would be returned to the pool and
its listener lost) and sets every waiting worker's event. If that connection drops, the
workers poll every ``fallback_poll`` seconds until it is back, and are woken once it is
(a signal may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import make_url

log = logging.getLogger(__name__)
CHANNEL = "mailforge_work"
NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"
SAFETY_POLL = 5.0  # seconds an idle worker waits at most while signals arrive
FALLBACK_POLL = 0.5  # while they cannot: the engine's old polling
RECONNECT_AFTER = (1.0, 2.0, 5.0, 10.0, 30.0)


def asyncpg_dsn(url: str) -> str:
    """The DSN asyncpg itself takes, from the application's SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgWorkSignal:
    """Implements ``domain.ports.workers.WorkSignal`` on one listening connection."""

    def __init__(
        self, url: str, safety_poll: float = SAFETY_POLL, fallback_poll: float = FALLBACK_POLL
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._safety_poll, self._fallback_poll = safety_poll, fallback_poll
        self._events: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()
        self._conn: Any = None
        self._keeper: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._closing = False

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    @property
    def poll_every(self) -> float:
        return self._safety_poll if self.listening else self._fallback_poll

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.add(event)
        return event

    async def start(self) -> None:
        """Listen now if the database answers, and keep listening (reconnecting with
        backoff) until ``close``; without a connection the workers poll meanwhile."""
        try:
            await self._connect()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("Cannot listen for work (%s); polling until it works", exc)
            self._lost.set()
        self._keeper = asyncio.create_task(self._keep())

    async def close(self) -> None:
        self._closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(CHANNEL, self._notified)
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self._wake_all()  # whatever happened while nobody listened

    async def _keep(self) -> None:
        while True:
            await self._lost.wait()
            for delay in itertools.chain(RECONNECT_AFTER, itertools.repeat(RECONNECT_AFTER[-1])):
                await asyncio.sleep(delay)
                try:
                    await self._connect()
                except (OSError, asyncpg.PostgresError) as exc:
                    log.debug("Listening for work still fails: %s", exc)
                    continue
                log.info("Listening for work again")
                self._lost.clear()
                break

    def _notified(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self._wake_all()

    def _terminated(self, _conn: Any) -> None:
        if not self._closing:
            log.warning("Lost the connection that listens for work; polling until it is back")
            self._conn = None
            self._lost.set()
            self._wake_all()

    def _wake_all(self) -> None:
        for event in list(self._events):
            event.set()
